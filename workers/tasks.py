"""Thin Celery tasks: parse the payload, call one plain function, map errors to retry or fail."""

import functools
from collections.abc import Callable
from typing import Any

from celery import Task as CeleryTask
from celery.exceptions import Reject, SoftTimeLimitExceeded
from redis.exceptions import RedisError

from common.contract import Priority, Queue, Task
from common.errors import TransientError
from common.items import AlertItem
from common.points import Point
from common.protect.guard import Kind
from workers import embedding, job, storage, versions
from workers.app import app
from workers.guarded import GuardedEmbedder
from workers.runtime import priority_of, resources, settings
from workers.settle import Delivery

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


class CortexTask(CeleryTask):  # type: ignore[misc]
    """A task whose retry, when it cannot be published, gives the message back.

    Celery rejects the message without requeueing it when publishing the retry fails (Redis
    went away meanwhile): the items would be dropped the moment Redis answers the reject.
    """

    def retry(self, *args: Any, **kwargs: Any) -> Any:
        """Celery's retry, but an unpublishable retry requeues instead of dropping."""
        try:
            return super().retry(*args, **kwargs)
        except Reject as exc:
            if exc.requeue:
                raise
            raise Reject(exc.reason, requeue=True) from exc


def _job(task: CeleryTask, queue: Queue, kind: Kind, default_priority: int) -> job.Job:
    properties = task.request.properties or {}
    delivery = Delivery(task.request.id, str(properties.get("delivery_tag") or ""))
    return job.Job(delivery, task.name, queue, priority_of(task, default_priority), kind)


def _run(task: CeleryTask, items: job.Items, embed: Callable[..., list[Point]], *,
         queue: Queue, kind: Kind, default_priority: int, **options: Any) -> int:  # fmt: skip
    guarded = GuardedEmbedder(
        resources.embedder(), resources.guard(), resources.spool(), kind=kind,
        wait_s=settings.slot_wait_s,
    )  # fmt: skip
    prefixed = functools.partial(
        embed, prefix=settings.embed_doc_prefix, avg_len=settings.bm25_avg_len
    )
    try:
        return job.run(
            _job(task, queue, kind, default_priority), items, prefixed, guarded,
            r=resources.redis(), guard=resources.guard(), **options,
        )  # fmt: skip
    except job.HandOffFailed as exc:
        raise Reject(str(exc), requeue=True) from exc


def _chat_version(item: dict[str, Any]) -> tuple[str, str] | None:
    if "message_key" not in item:
        return None
    return str(item["message_key"]), str(item["content_hash"])


def _current_chats(batch: job.Items) -> job.Items:
    # An edit that arrived after this message was queued makes its older version moot.
    return versions.current(batch, resources.redis(), version_of=_chat_version)


@app.task(
    bind=True,
    base=CortexTask,
    name=Task.EMBED_ALERTS,
    rate_limit=settings.alerts_rate_limit,
    soft_time_limit=settings.alerts_soft_time_limit_s,
    time_limit=settings.alerts_time_limit_s,
    **_RETRY,
)
def embed_alerts(self: CeleryTask, items: job.Items) -> int:
    """Embed one call's worth of alerts and queue their points for the store."""
    return _run(self, items, embedding.embed_alerts, queue=Queue.ALERTS, kind="alert",
                default_priority=Priority.INFO)  # fmt: skip


@app.task(
    bind=True,
    base=CortexTask,
    name=Task.EMBED_DIGEST,
    rate_limit=settings.alerts_rate_limit,
    soft_time_limit=settings.alerts_soft_time_limit_s,
    time_limit=settings.alerts_time_limit_s,
    **_RETRY,
)
def embed_digest(self: CeleryTask, items: job.Items) -> int:
    """Embed a storm's digest once; each member alert is stored with the digest's vector."""
    return _run(self, items, embedding.embed_digest, queue=Queue.ALERTS, kind="alert",
                default_priority=Priority.INFO, single_input=True)  # fmt: skip


@app.task(
    bind=True,
    base=CortexTask,
    name=Task.EMBED_CHATS,
    rate_limit=settings.chats_rate_limit,
    soft_time_limit=settings.chats_soft_time_limit_s,
    time_limit=settings.chats_time_limit_s,
    **_RETRY,
)
def embed_chats(self: CeleryTask, items: job.Items) -> int:
    """Embed one call's worth of chat chunks; parked while bulk work must wait."""
    return _run(self, items, embedding.embed_chats, queue=Queue.CHATS, kind="chat",
                default_priority=Priority.CHAT, current=_current_chats)  # fmt: skip


_STORE_LIMITS = {
    "soft_time_limit": settings.store_soft_time_limit_s,
    "time_limit": settings.store_time_limit_s,
}


@app.task(name=Task.STORE_POINTS, base=CortexTask, **_STORE_LIMITS, **_RETRY)
def store_points(points: list[dict[str, Any]]) -> int:
    """Upsert embedded points; a retry here never re-embeds."""
    parsed = storage.parse_points(points)
    return storage.store_points(parsed, resources.store(), resources.redis())


@app.task(name=Task.UPDATE_ALERTS, base=CortexTask, **_STORE_LIMITS, **_RETRY)
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


@app.task(name=Task.RECALL, soft_time_limit=30, time_limit=40)
def recall(request: dict[str, Any]) -> None:
    """Answer one recall, alert history or conversation request from the gateway."""
    storage.answer_recall(request, resources.memory(), resources.redis())
