"""Asking the store worker: one high-priority message on the store queue, one reply list.

Only the store worker may open Qdrant (local mode allows one process and one thread), so every
read of the memory (search, recall, history, conversations) is a request it answers over Redis.
"""

import time
import uuid
from typing import Any

import orjson
from redis.asyncio import Redis

from common import envelope, keys
from common.contract import Priority, Queue, Task, queue_key


async def ask_store(
    redis: Redis, task: Task, request: dict[str, Any], *, deadline: float
) -> dict[str, Any] | None:
    """Queue `task(request)` for the store worker and wait for its answer until `deadline`
    (a `time.monotonic()` value); None when none came in time."""
    request_id = str(uuid.uuid4())
    asked = {
        **request,
        "request_id": request_id,
        # Wall clock: the store worker runs in another process, maybe another host.
        "expires_at": time.time() + max(0.0, deadline - time.monotonic()),
    }
    message = envelope.message(task, Queue.STORE, Priority.SEARCH, [asked])
    await redis.lpush(queue_key(Queue.STORE, Priority.SEARCH), message)
    wait_s = max(0.1, deadline - time.monotonic())
    reply = await redis.blpop([keys.reply(request_id)], timeout=wait_s)
    if reply is None:
        return None
    answer: dict[str, Any] = orjson.loads(reply[1])
    return answer
