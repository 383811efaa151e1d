"""How fast bulk work drains, measured in Redis, and the Retry-After a refused client gets.

Workers count embedded items in 10 s buckets; the gateway's admission check reads the last
minute of them in its enqueue script. A client told to come back is told when the backlog
will have drained below the cap at that rate, so retries arrive when they can be accepted.
"""

import math
import time

import redis

from common import keys

BUCKET_S = 10
WINDOW_S = 60


def bucket_keys(kind: str, now: float) -> list[str]:
    """The completed buckets of the last `WINDOW_S` (the current one is still filling)."""
    current = int(now // BUCKET_S)
    return [f"{keys.DRAINED}{kind}:{b}" for b in range(current - WINDOW_S // BUCKET_S, current)]


def record(r: redis.Redis, kind: str, items: int, *, now: float | None = None) -> None:
    """Count `items` of `kind` as drained (embedded) now."""
    key = f"{keys.DRAINED}{kind}:{int((now or time.time()) // BUCKET_S)}"
    with r.pipeline(transaction=False) as pipe:
        pipe.incrby(key, items)
        pipe.expire(key, 2 * WINDOW_S)
        pipe.execute()


def retry_after_s(
    backlog_items: int, cap_items: int, drained_items: int, *, low_water: float, max_s: int
) -> int:
    """Seconds until the backlog is back under `low_water` of the cap at the current rate.

    With nothing drained in the window (workers paused, breaker open, node under pressure)
    the answer is the maximum: there is no rate to promise anything from.
    """
    rate = drained_items / WINDOW_S
    if rate <= 0:
        return max_s
    excess = backlog_items - low_water * cap_items
    return max(1, min(max_s, math.ceil(excess / rate)))
