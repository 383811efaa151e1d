"""The spiral benchmark: the incident's feedback loop replayed on one machine.

A simulated embedding node (processor sharing with threads per call, node.py), a simulated
Prometheus and Alertmanager (prometheus.py, alertmanager.py) and a runaway chat-ingest job
(chatjob.py) play the same scenario, per node profile (profiles.py), against a naive
synchronous receiver (naive.py, as the seed did), a fixed-concurrency baseline (fixed.py) and
cluster-cortex itself (cortex.py, real processes); the results are printed side by side with
the issue's targets as PASS/FAIL lines (summary.py, verdicts.py).

Run it with `.venv/bin/python -m bench.spiral [--profile NAME] [--quick]`.
"""
