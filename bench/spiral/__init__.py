"""The spiral benchmark: the incident's feedback loop replayed on one machine.

A simulated embedding node (processor sharing, node.py), a simulated Prometheus and
Alertmanager (prometheus.py, alertmanager.py) and a runaway chat-ingest job (chatjob.py) play
the same scenario against a naive synchronous receiver (naive.py, as the seed did) and against
cluster-cortex itself (cortex.py, real processes), and the results are printed side by side.

Run it with `.venv/bin/python -m bench.spiral [--duration S] [--quick]`.
"""
