"""What `GET /v1/stats` and `cortex status` report, read from Redis alone."""

from typing import Any

from redis.asyncio import Redis

from common import keys
from common.contract import Queue, queue_keys

# kombu's Redis transport keeps delivered-but-unacknowledged messages in this hash.
_UNACKED = "unacked"


async def gather(redis: Redis) -> dict[str, Any]:
    """Queue depths per queue and bucket, in-flight, dead letters and stored counts."""
    bucket_names = [(queue.value, key) for queue in Queue for key in queue_keys(queue.value)]
    async with redis.pipeline(transaction=False) as pipe:
        for _, key in bucket_names:
            pipe.llen(key)
        pipe.hlen(_UNACKED)
        pipe.llen(keys.DEAD_LETTERS)
        pipe.llen(keys.PARKED)
        pipe.hgetall(keys.STORED_COUNTS)
        results = await pipe.execute()
    *depths, unacked, dead, parked, stored = results
    queues: dict[str, dict[str, Any]] = {q.value: {"depth": 0, "buckets": {}} for q in Queue}
    for (queue, key), depth in zip(bucket_names, depths, strict=True):
        queues[queue]["depth"] += int(depth)
        queues[queue]["buckets"][key] = int(depth)
    counts = {k.decode() if isinstance(k, bytes) else k: int(v) for k, v in stored.items()}
    return {
        "queues": queues,
        "in_flight": int(unacked),
        "dead_letters": int(dead),
        "parked": int(parked),
        "stored": {"alert": counts.get("alert", 0), "chat": counts.get("chat", 0)},
    }
