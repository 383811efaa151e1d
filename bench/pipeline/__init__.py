"""The pipeline benchmark: items stored end to end against the backend's own batched best.

A development embedder with a fixed per-call and per-input cost (meter.py) is measured first
directly, with batches of several sizes from as many client threads as the concurrency cap
(direct.py): the slots alerts may use, and chats too, since they borrow the reserved slots
while no alert waits. Then cluster-cortex (stack.py, real processes, one worker process more
than the cap for each kind, warmed up by one alert) is fed realistic alert and chat traffic
(traffic.py, poster.py) and timed until `/v1/stats` reports everything stored (scenario.py).
Each scenario is held against what the backend could do directly under the same slot policy
(policy.py), which for any mix of alerts and chats is the cap's best. The report (report.py)
prints that ratio, the batch sizes the workers achieved, how many chat calls ran at once and
where the rest of the time went.

Run it with `.venv/bin/python -m bench.pipeline [--quick]`.
"""
