"""The pipeline benchmark: items stored end to end against the backend's own batched best.

A development embedder with a fixed per-call and per-input cost (meter.py) is measured first
directly, with batches of several sizes from as many client threads as the slots alerts may
use (the concurrency cap) and as chats may use (the cap less the reserved slots) (direct.py);
then cluster-cortex (stack.py, real processes, one worker process more than the slots each
kind may use) is fed realistic alert and chat traffic (traffic.py, poster.py) and timed until
`/v1/stats` reports everything stored (scenario.py). Each scenario is held against what the
backend could do directly under the same slot policy (policy.py): its alerts at the best
from the cap's threads and its chats at the best from cap - reserved threads, one kind at a
time. The report (report.py) prints that ratio and the ratio to the full cap's best, the
batch sizes the workers achieved and where the rest of the time went.

Run it with `.venv/bin/python -m bench.pipeline [--quick]`.
"""
