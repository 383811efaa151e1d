"""One read of everything operators ask about, for `/v1/stats`, `cortex status` and /metrics."""

import time
from dataclasses import dataclass
from typing import Any

import redis

from common import keys
from common.contract import Queue, queue_keys


@dataclass
class Snapshot:
    """Queue and parked depths per bucket, and the shared guard state, read in one round trip."""

    buckets: dict[str, int]
    parked_buckets: dict[str, int]
    in_flight: int
    dead: int
    slots: int
    limiter: dict[str, float]
    breaker: str
    paused: dict[str, str]
    stored: dict[str, int]
    counters: dict[str, float]
    latency: dict[str, float]
    controller_seen_at: float
    digests_pending: int

    def depth(self, queue: str) -> int:
        """Messages waiting on a queue, all buckets."""
        return sum(self.buckets[key] for key in queue_keys(queue))

    def parked(self, queue: str) -> int:
        """Messages of a queue parked for replay."""
        return sum(self.parked_buckets[key] for key in queue_keys(queue))


def _text(raw: dict[bytes, bytes]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in raw.items()}


def read_snapshot(r: redis.Redis) -> Snapshot:
    """Everything in one pipeline."""
    lists = [key for q in Queue for key in queue_keys(q.value)]
    with r.pipeline(transaction=False) as pipe:
        for key in lists:
            pipe.llen(key)
            pipe.llen(keys.parked(key))
        pipe.hlen(keys.KOMBU_UNACKED)
        pipe.llen(keys.DEAD_LETTERS)
        pipe.zcount(keys.SLOTS, time.time(), "+inf")  # live leases only
        pipe.hgetall(keys.LIMITER)
        pipe.hget(keys.BREAKER, "state")
        pipe.hgetall(keys.PAUSED)
        pipe.hgetall(keys.STORED_COUNTS)
        pipe.hgetall(keys.COUNTERS)
        pipe.hgetall(keys.LATENCY)
        pipe.get(keys.CONTROLLER_HEARTBEAT)
        pipe.zcard(keys.DIGESTS_DUE)
        results = pipe.execute()
    depths, rest = results[: 2 * len(lists)], results[2 * len(lists) :]
    (
        in_flight,
        dead,
        slots,
        limiter,
        breaker,
        paused,
        stored,
        counters,
        latency,
        heartbeat,
        digests,
    ) = rest
    return Snapshot(
        buckets={key: int(depths[2 * i]) for i, key in enumerate(lists)},
        parked_buckets={key: int(depths[2 * i + 1]) for i, key in enumerate(lists)},
        in_flight=int(in_flight),
        dead=int(dead),
        slots=int(slots),
        limiter={k: float(v) for k, v in _text(limiter).items()},
        breaker=(breaker or b"closed").decode(),
        paused=_text(paused),
        stored={k: int(v) for k, v in _text(stored).items()},
        counters={k: float(v) for k, v in _text(counters).items()},
        latency={k: float(v) for k, v in _text(latency).items()},
        controller_seen_at=float(heartbeat or 0),
        digests_pending=int(digests),
    )


def gather(r: redis.Redis, *, slots_cap: int) -> dict[str, Any]:
    """The `/v1/stats` document."""
    snap = read_snapshot(r)
    queues = {
        q.value: {
            "depth": snap.depth(q.value),
            "parked": snap.parked(q.value),
            "buckets": {key: snap.buckets[key] for key in queue_keys(q.value)},
            "paused": q.value in snap.paused,
        }
        for q in Queue
    }
    return {
        "queues": queues,
        "in_flight": snap.in_flight,
        "dead_letters": snap.dead,
        "parked": sum(snap.parked_buckets.values()),
        # Storm digests waiting for their window to close (the controller queues them).
        "digests_pending": snap.digests_pending,
        "paused": snap.paused,
        "breaker": snap.breaker,
        "concurrency": {
            "limit": int(snap.limiter.get("limit", slots_cap)),
            "cap": slots_cap,
            "in_use": snap.slots,
            "latency_pressure": round(snap.limiter.get("pressure", 1.0), 3),
        },
        "stored": {"alert": snap.stored.get("alert", 0), "chat": snap.stored.get("chat", 0)},
        # None when no controller has run in the last minute: parked work is not replayed.
        "controller_heartbeat_age_s": (
            round(time.time() - snap.controller_seen_at, 1) if snap.controller_seen_at else None
        ),
        "decisions": snap.counters,
    }
