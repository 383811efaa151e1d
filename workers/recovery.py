"""Prompt recovery of held work: put back what no live worker holds, within about a minute.

Two places hold messages outside the queues: kombu's `unacked` hash (every delivered message
until its acknowledgement) and the claims of tasks that topped up their batch (`gather.py`).
A worker that was killed, or that lost Redis while holding messages (kombu's own restore then
fails, and its periodic one waits for the visibility timeout, an hour), leaves them there.
Every live worker leases the task ids it holds (`leases.py`); the controller's sweep puts back
every held message older than a grace period whose task id has no live lease: kombu's entries
through kombu's own restore, claims through the claim's give-back. Nothing still running is
put back, since its worker keeps renewing its lease.

Right after Redis comes back (or the controller starts) leases may have lapsed while their
workers could not renew them, so the sweep waits until every live worker has had time to.
"""

import logging
import time
from collections.abc import Callable, Sequence

import orjson
import redis

from common import keys
from workers import gather, leases

log = logging.getLogger(__name__)

# A message must be held this long before it can count as abandoned: its worker's first
# renewal follows its receipt within moments, this only covers a slow one.
GRACE_S = 15.0
# After Redis answers again, every live worker renews within a period or two.
SETTLE_S = 2 * leases.RENEW_S
_BATCH = 200


def _held_since(r: redis.Redis, index: str, cutoff: float) -> list[str]:
    """Members of an index scored by when they were taken, taken before `cutoff`."""
    found = r.zrangebyscore(index, "-inf", cutoff, start=0, num=_BATCH)
    return [m.decode() if isinstance(m, bytes) else str(m) for m in found]


def task_id_of(raw: bytes | str | None) -> str | None:
    """The task id in one of kombu's unacked entries (`[message, exchange, routing_key]`)."""
    if raw is None:
        return None
    try:
        message = orjson.loads(raw)[0]
        return str(message["headers"]["id"])
    except (orjson.JSONDecodeError, LookupError, TypeError):
        return None


def _live(r: redis.Redis, task_ids: Sequence[str], now: float) -> set[str]:
    with r.pipeline(transaction=False) as pipe:
        for task_id in task_ids:
            pipe.zscore(keys.LEASES, task_id)
        scores = pipe.execute()
    return {t for t, score in zip(task_ids, scores, strict=True) if score and score > now}


class Recovery:
    """The controller's sweep; `restore` puts one unacked entry back by its delivery tag."""

    def __init__(self, r: redis.Redis, restore: Callable[[str], None]) -> None:
        self._redis = r
        self._restore = restore
        self._healthy_since: float | None = None

    def redis_failed(self) -> None:
        """Redis did not answer: leases may lapse until it does."""
        self._healthy_since = None

    def sweep(self, *, now: float | None = None) -> tuple[int, int]:
        """Put back abandoned messages; returns (unacked entries, claims) put back."""
        now = now or time.time()
        if self._healthy_since is None:
            self._healthy_since = now
        if now - self._healthy_since < SETTLE_S:
            return 0, 0
        cutoff = now - GRACE_S
        return self._unacked(cutoff, now), self._claims(cutoff, now)

    def _unacked(self, cutoff: float, now: float) -> int:
        r = self._redis
        tags = _held_since(r, keys.KOMBU_UNACKED_INDEX, cutoff)
        if not tags:
            return 0
        raws = r.hmget(keys.KOMBU_UNACKED, tags)
        owners = {tag: task_id_of(raw) for tag, raw in zip(tags, raws, strict=True)}
        live = _live(r, [o for o in owners.values() if o], now)
        abandoned = [t for t, owner in owners.items() if owner not in live]
        for tag in abandoned:
            self._restore(tag)
            log.warning("put back message %s (task %s): no live worker holds it", tag, owners[tag])
        return len(abandoned)

    def _claims(self, cutoff: float, now: float) -> int:
        r = self._redis
        claims = _held_since(r, keys.CLAIMS, cutoff)
        owners = {c: gather.owner(c) for c in claims}
        live = _live(r, list(set(owners.values())), now)
        restored = 0
        for claim, owner in owners.items():
            if owner not in live:
                restored += gather.give_back(r, claim)
                log.warning("gave back claim %s: task %s is no longer held", claim, owner)
        return restored
