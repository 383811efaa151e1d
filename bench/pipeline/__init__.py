"""The pipeline benchmark: items stored end to end against the backend's own batched best.

A development embedder with a fixed per-call and per-input cost (meter.py) is measured first
directly, with batches of several sizes from as many client threads as the concurrency cap
(direct.py); then cluster-cortex (stack.py, real processes) is fed realistic alert and chat
traffic (traffic.py, poster.py) and timed until `/v1/stats` reports everything stored
(scenario.py). The report (report.py) prints the ratio, the batch sizes the workers achieved
and where the rest of the time went.

Run it with `.venv/bin/python -m bench.pipeline [--quick]`.
"""
