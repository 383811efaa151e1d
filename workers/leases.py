"""Leases on held messages: each worker says, every few seconds, which task ids it still holds.

kombu keeps every delivered message in its `unacked` hash until it is acknowledged and, by
itself, puts back only those older than the visibility timeout (an hour): messages held by a
worker that was killed, or that lost Redis while holding them, would wait that long. So the
main process of every worker leases the task ids it has received and not yet acknowledged
(running, waiting for a pool process, or waiting for a retry's countdown) in one sorted set,
scored by expiry. The controller puts back what no live lease covers (`recovery.py`).

The leases are written from a thread of the worker's main process with a Redis client of its
own (short timeouts, no retries inside): it keeps trying every period while Redis is down and
renews everything the moment it is back.
"""

import logging
import threading
import time
import weakref
from collections.abc import Iterable
from typing import Any

import redis

from common import keys

log = logging.getLogger(__name__)

RENEW_S = 5.0
# A lease outlives several renewals: a live worker's lease never lapses between two of them.
LEASE_S = 30.0

_held: "weakref.WeakSet[Any]" = weakref.WeakSet()


def hold(request: Any) -> None:
    """Lease a received request until it is acknowledged (celery's Request objects)."""
    _held.add(request)


def held_ids(requests: Iterable[Any]) -> list[str]:
    """Task ids of the requests not yet acknowledged."""
    return [r.id for r in list(requests) if not r.acknowledged]


def renew(r: redis.Redis, task_ids: list[str], *, now: float) -> None:
    """Extend the leases of these task ids and drop leases that ran out."""
    with r.pipeline(transaction=False) as pipe:
        if task_ids:
            pipe.zadd(keys.LEASES, dict.fromkeys(task_ids, now + LEASE_S))
        pipe.zremrangebyscore(keys.LEASES, "-inf", now)
        pipe.execute()


class Renewer:
    """The renewing thread of one worker's main process."""

    def __init__(self, redis_url: str, *, timeout_s: float) -> None:
        self._redis = redis.Redis.from_url(
            redis_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cortex-leases", daemon=True)

    def start(self) -> None:
        """Renew every RENEW_S until stopped."""
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing (the leases then lapse by themselves)."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                renew(self._redis, held_ids(_held), now=time.time())
            except redis.RedisError as exc:
                log.warning("could not renew leases (renewed as soon as Redis answers): %s", exc)
            except Exception:
                # A bug here must not stop renewing: every held message would be put back.
                log.exception("lease renewal failed")
            self._stop.wait(RENEW_S)
