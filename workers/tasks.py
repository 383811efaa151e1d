"""Thin Celery tasks: parse the payload, call one plain function, map errors to retry or fail."""

import logging
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from celery import Task as CeleryTask
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import celeryd_after_setup, task_failure, worker_process_init, worker_shutdown
from redis.exceptions import RedisError

from common import drain, keys, parking
from common.contract import Priority, Queue, Task, queue_keys
from common.embedder import OllamaEmbedder
from common.errors import CortexError, Shed, TransientError
from common.items import AlertItem
from common.points import Point
from common.settings import get_worker_settings
from workers import deadletter, embedding, gather, storage, versions
from workers.app import app
from workers.resources import Resources

log = logging.getLogger(__name__)
STORE_BATCH = 64
settings = get_worker_settings()
resources = Resources(settings)

_RETRYABLE = (TransientError, SoftTimeLimitExceeded, RedisError)
# The retry policy, in one place: transient failures and soft time limits back off
# exponentially with jitter; anything else, or running out of retries, dead-letters.
_RETRY = {
    "autoretry_for": _RETRYABLE,
    "retry_backoff": 2,
    "retry_backoff_max": settings.retry_backoff_max_s,
    "retry_jitter": True,
    "max_retries": settings.max_retries,
    # Also the delay before re-running a task whose worker process died under it.
    "default_retry_delay": 5,
}


def _hand_to_store(points: list[dict[str, Any]]) -> None:
    # Publishing retries briefly on a Redis blip; a longer outage fails the task, whose
    # message stays unacked in Redis and is redelivered once Redis is back.
    store_points.apply_async(
        args=[points],
        queue=Queue.STORE.value,
        priority=Priority.STORE,
        retry=True,
        retry_policy={"max_retries": 3, "interval_start": 0.5, "interval_step": 1},
    )


def _priority(task: CeleryTask, default: int) -> int:
    info = task.request.delivery_info or {}
    return int(info.get("priority", default) or default)


def _embed_guarded(
    task: CeleryTask,
    kind: Literal["alert", "chat"],
    items: list[dict[str, Any]],
    embed: Callable[..., list[Point]],
    *,
    queue: Queue,
    default_priority: int,
    single_input: bool = False,
) -> int:
    embedder = resources.embedder()
    # A message holds at most one batch of inputs, except a chat message with more chunks
    # than that: it is embedded in several calls, each of a bounded size.
    size = len(items) if single_input else settings.embed_batch_size
    batches = [items[start : start + size] for start in range(0, len(items), size)]
    stored = 0
    for n, batch in enumerate(batches):
        rest = [item for later in batches[n:] for item in later]
        guarded = _GuardedEmbedder(embedder, kind, 1 if single_input else len(batch))
        try:
            points = embed(batch, guarded, prefix=settings.embed_doc_prefix)
        except Shed as shed:
            parking.park(
                resources.redis(), task=task.name, queue=queue.value,
                priority=_priority(task, default_priority), args=[rest], reason=shed.reason,
            )  # fmt: skip
            log.warning("parked %d %s items: %s", len(rest), kind, shed.reason)
            return stored
        except _RETRYABLE as exc:
            if n == 0:
                raise
            # Batches already embedded are in the store queue: the retry carries only the
            # rest, so no item costs a second embedding.
            raise task.retry(args=[rest], exc=exc, countdown=_backoff_s(task)) from exc
        # Digests can carry hundreds of points: store messages stay a bounded size.
        for start in range(0, len(points), STORE_BATCH):
            _hand_to_store([p.model_dump() for p in points[start : start + STORE_BATCH]])
        if kind == "chat":
            drain.record(resources.redis(), "chat", len(batch))
        stored += len(points)
    return stored


@contextmanager
def _gathered(
    task: CeleryTask, items: list[dict[str, Any]], queue: Queue, *, hold_s: int
) -> Iterator[list[dict[str, Any]]]:
    """The task's items topped up to a full batch with queued messages it claims.

    The claim is acknowledged when the body finishes (points queued for the store, or the
    whole batch parked) and given back to the queue if it raises, so a retry or a failure of
    this task never holds or dead-letters another message's items.
    """
    r = resources.redis()
    room = settings.embed_batch_size - len(items)
    # Twice the hard time limit: only a task that was killed can still hold it by then.
    claimed = gather.claim(r, task=task.name, lists=queue_keys(queue), room=room, hold_s=2 * hold_s)
    try:
        yield items + claimed.items
    except BaseException:
        if claimed.messages:
            try:
                gather.give_back(r, claimed.key)
            except RedisError:
                log.warning("claim %s is given back by the controller later", claimed.key)
        raise
    gather.acknowledge(r, claimed)


class _GuardedEmbedder:
    """The embedder as the embedding functions see it: each call passes the guard.

    Only the backend call holds a slot; parsing, building texts and points happen outside
    it, so a slot is never idle while its holder does CPU work.
    """

    def __init__(self, embedder: OllamaEmbedder, kind: Literal["alert", "chat"], inputs: int):
        self.model, self.dim = embedder.model, embedder.dim
        self._embedder, self._kind, self._inputs = embedder, kind, inputs

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One guarded backend call: slot, limits and breaker, or Shed."""
        # The lease outlives the call's own timeouts, so a live call never loses its slot.
        lease_s = self._embedder.read_timeout_s(self._inputs) + settings.embed_connect_timeout_s + 5
        return resources.guard().run(
            self._kind, self._inputs, lambda: self._embedder.embed(texts),
            lease_s=lease_s, wait_s=settings.slot_wait_s,
        )  # fmt: skip


def _backoff_s(task: CeleryTask) -> float:
    retries = task.request.retries or 0
    return random.uniform(0, min(settings.retry_backoff_max_s, 2 ** (retries + 1)))


def _chat_version(item: dict[str, Any]) -> tuple[str, str] | None:
    if "message_key" not in item:
        return None
    return str(item["message_key"]), str(item["content_hash"])


@app.task(
    bind=True,
    name=Task.EMBED_ALERTS,
    rate_limit=settings.alerts_rate_limit,
    soft_time_limit=settings.alerts_soft_time_limit_s,
    time_limit=settings.alerts_time_limit_s,
    **_RETRY,
)
def embed_alerts(self: CeleryTask, items: list[dict[str, Any]]) -> int:
    """Embed a batch of alerts in one guarded call and queue their points for the store."""
    with _gathered(self, items, Queue.ALERTS, hold_s=settings.alerts_time_limit_s) as batch:
        return _embed_guarded(
            self, "alert", batch, embedding.embed_alerts, queue=Queue.ALERTS,
            default_priority=Priority.INFO,
        )  # fmt: skip


@app.task(
    bind=True,
    name=Task.EMBED_DIGEST,
    rate_limit=settings.alerts_rate_limit,
    soft_time_limit=settings.alerts_soft_time_limit_s,
    time_limit=settings.alerts_time_limit_s,
    **_RETRY,
)
def embed_digest(self: CeleryTask, items: list[dict[str, Any]]) -> int:
    """Embed a storm's digest once; each member alert is stored with the digest's vector."""
    return _embed_guarded(
        self, "alert", items, embedding.embed_digest, queue=Queue.ALERTS,
        default_priority=Priority.INFO, single_input=True,
    )  # fmt: skip


@app.task(
    bind=True,
    name=Task.EMBED_CHATS,
    rate_limit=settings.chats_rate_limit,
    soft_time_limit=settings.chats_soft_time_limit_s,
    time_limit=settings.chats_time_limit_s,
    **_RETRY,
)
def embed_chats(self: CeleryTask, items: list[dict[str, Any]]) -> int:
    """Embed a batch of chat chunks in guarded calls; parked while bulk work must wait."""
    with _gathered(self, items, Queue.CHATS, hold_s=settings.chats_time_limit_s) as batch:
        # An edit that arrived after this message was queued makes its older version moot.
        batch = versions.current(batch, resources.redis(), version_of=_chat_version)
        return _embed_guarded(
            self, "chat", batch, embedding.embed_chats, queue=Queue.CHATS,
            default_priority=Priority.CHAT,
        )  # fmt: skip


_STORE_LIMITS = {
    "soft_time_limit": settings.store_soft_time_limit_s,
    "time_limit": settings.store_time_limit_s,
}


@app.task(name=Task.STORE_POINTS, **_STORE_LIMITS, **_RETRY)
def store_points(points: list[dict[str, Any]]) -> int:
    """Upsert embedded points; a retry here never re-embeds."""
    parsed = storage.parse_points(points)
    return storage.store_points(parsed, resources.store(), resources.redis())


@app.task(name=Task.UPDATE_ALERTS, **_STORE_LIMITS, **_RETRY)
def update_alerts(items: list[dict[str, Any]]) -> int:
    """Apply resolutions (status, endsAt) to stored alert points without embedding."""
    parsed = embedding.parse_items(AlertItem, items)
    return storage.update_alerts(
        parsed, resources.store(), resources.redis(), ttl_s=settings.alert_dedup_ttl_s
    )


@app.task(name=Task.SEARCH, soft_time_limit=30, time_limit=40)
def search(request: dict[str, Any]) -> None:
    """Answer one interactive search from the gateway."""
    storage.answer_search(request, resources.store(), resources.redis())


@task_failure.connect
def _dead_letter_on_failure(
    sender: CeleryTask | None = None,
    task_id: str = "",
    exception: BaseException | None = None,
    args: Any = None,
    **_: Any,
) -> None:
    # Fires for exceptions, exhausted retries, hard time limits and lost workers alike.
    if sender is None or sender.name == Task.SEARCH:
        return
    retries = sender.request.retries if sender.request else 0
    try:
        deadletter.dead_letter(
            resources.redis(),
            task=sender.name,
            task_id=task_id,
            args=args,
            reason=repr(exception),
            retries=retries or 0,
            priority=_priority(sender, 0),
        )
    except Exception:
        # Redis is down: the message is still unacked in Redis and comes back after the
        # visibility timeout, so nothing is lost by not recording it here.
        log.exception("could not dead-letter %s[%s]", sender.name, task_id)


@celeryd_after_setup.connect
def _check_store_at_start(sender: str, instance: Any, **_: Any) -> None:
    # A store worker checks its collection (model, dimension, folder lock) at start-up, so a
    # misconfiguration stops it at once instead of dead-lettering every task.
    if Queue.STORE.value not in set(instance.app.amqp.queues.consume_from or {}):
        return
    solo = instance.pool_cls.__module__.endswith("solo")
    # Celery logs and swallows exceptions from signal handlers; SystemExit is not swallowed.
    if settings.qdrant_url is None and not solo:
        raise SystemExit(
            "Qdrant local mode allows one thread of one process: run the store queue with "
            "--pool solo (as `cortex worker --queues store` does), or set CORTEX_QDRANT_URL"
        )
    try:
        resources.store()
    except CortexError as exc:
        raise SystemExit(f"store worker cannot start: {exc}") from None
    if not solo:
        resources.close()  # pool children open their own clients after the fork


@celeryd_after_setup.connect
def _skip_paused_queues(sender: str, instance: Any, **_: Any) -> None:
    # `cortex pause` cancels consumers on running workers; one started later must not
    # quietly resume a paused queue.
    selected = set(instance.app.amqp.queues.consume_from or {})
    for raw in resources.redis().hkeys(keys.PAUSED):
        queue = raw.decode() if isinstance(raw, bytes) else raw
        if queue in selected:
            instance.app.amqp.queues.deselect(queue)
            log.warning("not consuming %s: it is paused (cortex resume %s)", queue, queue)


@worker_process_init.connect
def _forget_parent_clients(**_: Any) -> None:
    resources.forget()


@worker_shutdown.connect
def _close(**_: Any) -> None:
    resources.close()
