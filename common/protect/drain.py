"""How fast bulk work drains, measured in Redis, and the Retry-After a refused client gets.

Workers count embedded items in 10 s buckets; the gateway's admission check reads the last
minute of them in its enqueue script, only when it refuses. A client told to come back is told
when the backlog will have drained below the cap at that rate, so its retry can be accepted.
"""

import math
import time
from collections.abc import Sequence

import redis

from common import keys

BUCKET_S = 10
WINDOW_S = 60


def bucket_keys(kind: str, now: float) -> list[str]:
    """The buckets of the last `WINDOW_S`, oldest first, ending with the one still filling."""
    current = int(now // BUCKET_S)
    first = current - WINDOW_S // BUCKET_S
    return [f"{keys.DRAINED}{kind}:{b}" for b in range(first, current + 1)]


def bucket_key(kind: str, now: float) -> str:
    """The bucket counting `kind` drained at `now`."""
    return f"{keys.DRAINED}{kind}:{int(now // BUCKET_S)}"


def record(r: redis.Redis, kind: str, items: int, *, now: float | None = None) -> None:
    """Count `items` of `kind` as drained (embedded) now."""
    key = bucket_key(kind, now or time.time())
    with r.pipeline(transaction=False) as pipe:
        pipe.incrby(key, items)
        pipe.expire(key, 2 * WINDOW_S)
        pipe.execute()


def rate_per_s(buckets: Sequence[int], now: float) -> float:
    """Items per second over the buckets of `bucket_keys` (oldest first, the last filling).

    Measured from the first bucket that saw any drain: workers that started draining a few
    seconds ago already give a rate, instead of an empty minute saying "nothing drains".
    """
    first = next((i for i, n in enumerate(buckets) if n), None)
    if first is None:
        return 0.0
    into_current = now - (now // BUCKET_S) * BUCKET_S
    span = (len(buckets) - 1 - first) * BUCKET_S + max(1.0, into_current)
    return sum(buckets) / span


def retry_after_s(
    backlog_items: int, cap_items: int, rate: float, *, low_water: float, max_s: int
) -> int:
    """Seconds until the backlog is back under `low_water` of the cap at `rate` items/s.

    With nothing drained in the window (workers paused, breaker open, node under pressure)
    the answer is the maximum: there is no rate to promise anything from.
    """
    if rate <= 0:
        return max_s
    excess = backlog_items - low_water * cap_items
    return max(1, min(max_s, math.ceil(excess / rate)))
