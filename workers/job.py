"""One embedding task's work, without Celery: top up, embed one call's worth, settle.

A task embeds at most one batch: as many items as fit the target call duration on the learned
latency (`EmbedGuard.batch_size`). A short message is topped up with queued ones it claims;
what does not fit is put back, first in line, in the same atomic settlement that hands the
points to the store and acknowledges the task's own message. So a task, and the slot it holds,
lasts about one call, however slow the backend and however long the queued message.
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from common import envelope, keys
from common.contract import Priority, Queue, Task, queue_key, queue_keys
from common.embedding.client import Embedder
from common.errors import Shed, TransientError
from common.points import Point
from common.protect import telemetry
from common.protect.guard import EmbedGuard, Kind
from workers import gather
from workers.guarded import GuardedEmbedder
from workers.settle import Delivery, Settlement, settle, settled

log = logging.getLogger(__name__)
STORE_BATCH = 64
# A task whose points are ready waits this long for Redis before it gives its message back.
SETTLE_PATIENCE_S = 60.0

Items = list[dict[str, Any]]
EmbedFn = Callable[[Sequence[Any], Embedder], list[Point]]


class HandOffFailed(TransientError):
    """Redis stayed away past the patience: the message goes back, the vectors to the spool."""


@dataclass(frozen=True)
class Job:
    """What a task runs: its delivery, its task and queue, and the kind of embedding work."""

    delivery: Delivery
    task: str
    queue: Queue
    priority: int
    kind: Kind

    def message(self, items: Items) -> bytes:
        """A message of this job's task carrying `items`."""
        return envelope.message(self.task, self.queue, self.priority, [items])


def run(
    job: Job, items: Items, embed: EmbedFn, embedder: GuardedEmbedder, *, r: redis.Redis,
    guard: EmbedGuard, single_input: bool = False,
    current: Callable[[Items], Items] = lambda batch: batch,
) -> int:  # fmt: skip
    """Embed one call's worth of items and settle; returns the points handed to the store."""
    if settled(r, job.delivery.task_id):
        log.info("task %s settled already: this message is a copy", job.delivery.task_id)
        return 0
    size = len(items) if single_input else guard.batch_size()
    claimed = gather.claim(r, task=job.task, owner=job.delivery.task_id,
                           lists=queue_keys(job.queue), room=size - len(items))  # fmt: skip
    try:
        batch = current(items + claimed.items)
        return _embed_and_settle(job, batch[:size], batch[size:], embed, embedder, r, claimed)
    except BaseException:
        _give_back(r, claimed)
        raise


def _embed_and_settle(
    job: Job, now: Items, rest: Items, embed: EmbedFn, embedder: GuardedEmbedder,
    r: redis.Redis, claimed: gather.Claim,
) -> int:  # fmt: skip
    settlement = Settlement(job.delivery, claim_key=claimed.key if claimed.messages else "")
    try:
        points = embed(now, embedder) if now else []
    except Shed as shed:
        settlement.park(keys.parked(queue_key(job.queue, job.priority)), job.message(now + rest))
        _settle_patiently(r, settlement, embedder)
        telemetry.count(r, f"parked:{job.queue.value}:{shed.reason}")
        log.warning("parked %d %s items: %s", len(now) + len(rest), job.kind, shed.reason)
        return 0
    for start in range(0, len(points), STORE_BATCH):
        chunk = [p.model_dump() for p in points[start : start + STORE_BATCH]]
        store = envelope.message(Task.STORE_POINTS, Queue.STORE, Priority.STORE, [chunk])
        settlement.enqueue(queue_key(Queue.STORE, Priority.STORE), store)
    _put_back(settlement, job, rest, size=len(now))
    if job.kind == "chat":
        settlement.drained = ("chat", len(now))
    _settle_patiently(r, settlement, embedder)
    embedder.forget()
    return len(points)


def _put_back(settlement: Settlement, job: Job, rest: Items, *, size: int) -> None:
    # First in line: one call's worth, then the remainder, so that another idle process
    # takes one while this one's successor takes the other. Calls in flight then come from
    # the slots, not from how many messages intake happened to make.
    bucket = queue_key(job.queue, job.priority)
    for piece in (rest[size:], rest[:size]) if size else (rest,):
        if piece:
            settlement.put_first(bucket, job.message(piece))


def _settle_patiently(r: redis.Redis, settlement: Settlement, embedder: GuardedEmbedder) -> None:
    # The embedding is done and nothing else can progress while Redis is away: wait for it
    # (the worker's lease keeps the message from being put back meanwhile).
    deadline = time.monotonic() + SETTLE_PATIENCE_S
    try:
        while True:
            try:
                settle(r, settlement)
                return
            except redis.RedisError as exc:
                if time.monotonic() >= deadline:
                    raise HandOffFailed(f"could not settle: {exc}") from exc
                log.warning("waiting for Redis to settle %s: %s", settlement.delivery.task_id, exc)
                time.sleep(1.0)
    except BaseException:
        # Not settled (Redis away too long, a time limit): the items run again, and read
        # the vectors from the spool instead of embedding them again.
        embedder.keep()
        raise


def _give_back(r: redis.Redis, claimed: gather.Claim) -> None:
    if not claimed.messages:
        return
    try:
        gather.give_back(r, claimed.key)
    except redis.RedisError:
        log.warning("claim %s is given back by the controller later", claimed.key)
