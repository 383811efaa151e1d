"""The parked store: whole queue messages set aside in Redis, moved back later, paced.

Parked lists mirror queue buckets (`cortex:parked:alerts:3` for `alerts:3`), so moving a
message back is one atomic LMOVE that keeps its priority; nothing is ever copied and deleted.
"""

from typing import Any

import orjson
import redis

from common import envelope, keys
from common.contract import queue_key, queue_keys
from common.protect import telemetry

# Pop the oldest dead letter and push its ready-made message, atomically.
_REPLAY_DEAD = """
local raw = redis.call('RPOP', KEYS[1])
if not raw then return 0 end
local entry = cjson.decode(raw)
redis.call('LPUSH', entry['list'], entry['message'])
return 1
"""


def park(
    r: redis.Redis, *, task: str, queue: str, priority: int, args: list[Any], reason: str
) -> None:
    """Set a task's message aside for replay instead of running it now."""
    bucket = queue_key(queue, priority)
    r.rpush(keys.parked(bucket), envelope.message(task, queue, priority, args))
    telemetry.count(r, f"parked:{queue}:{reason}")


def replay(r: redis.Redis, queue: str, *, limit: int) -> int:
    """Move up to `limit` parked messages back onto the queue, highest priority first."""
    moved = 0
    for bucket in queue_keys(queue):
        while moved < limit and r.lmove(keys.parked(bucket), bucket, "LEFT", "LEFT") is not None:
            moved += 1
    return moved


def drain(r: redis.Redis, queue: str) -> int:
    """Move a queue's whole backlog to the parked store, oldest first, losing nothing."""
    moved = 0
    for bucket in queue_keys(queue):
        # Consumers take from the right: moving right-to-right keeps the oldest first in line.
        while r.lmove(bucket, keys.parked(bucket), "RIGHT", "RIGHT") is not None:
            moved += 1
    return moved


def dead_letter_entry(
    *, task: str, queue: str, priority: int, args: Any, reason: str, retries: int, task_id: str,
    failed_at: float,
) -> bytes:  # fmt: skip
    """A dead letter: why it failed, and the ready-made message that replays it."""
    message = envelope.message(task, queue, priority, list(args or []))
    return orjson.dumps({
        "task": task, "queue": queue, "priority": priority, "task_id": task_id,
        "args": args, "reason": reason[:2000], "retries": retries, "failed_at": failed_at,
        "list": queue_key(queue, priority), "message": message.decode(),
    })  # fmt: skip


def replay_dead(r: redis.Redis, *, limit: int) -> int:
    """Re-enqueue up to `limit` dead letters, oldest first."""
    script = r.register_script(_REPLAY_DEAD)
    moved = 0
    while moved < limit and script(keys=[keys.DEAD_LETTERS]):
        moved += 1
    return moved
