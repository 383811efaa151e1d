"""Turning intake payloads into offers for the enqueue script: keys, routes, storms, admission."""

import time
from collections.abc import Sequence
from functools import cache

import orjson

from common.alertmanager import Notification
from common.chats import ChatBatch
from common.contract import Priority, Queue, Task, alert_priority, queue_keys
from common.enqueue import Admission, Candidate, Offer, Route
from common.items import alert_fields, chat_messages
from common.keys import parked
from common.protect import drain
from common.settings import GatewaySettings
from gateway.pressure import PressureWatch
from gateway.storm import StormWatch


@cache
def _alert_route(priority: int, ttl_s: int) -> Route:
    # State is the status: a resend is a duplicate, a resolution an update of the same point.
    # Each request is its own message: alert workers top up short batches from the queue
    # (workers/gather.py), which costs Redis less than rewriting a queued message per request.
    return Route(
        task=Task.EMBED_ALERTS,
        queue=Queue.ALERTS,
        priority=priority,
        ttl_s=ttl_s,
        on_change="update",
        update_task=Task.UPDATE_ALERTS,
        update_queue=Queue.STORE,
        update_priority=Priority.STATUS_UPDATE,
        coalesce=False,
    )


def alert_offer(
    notification: Notification,
    settings: GatewaySettings,
    storms: StormWatch,
    pressure: PressureWatch,
) -> Offer:
    """Every alert of a notification, with its storm bookkeeping and pressure entries."""
    now = time.time()
    plans, due = storms.plan(notification, now)
    candidates = []
    for alert, plan in zip(notification.alerts, plans, strict=True):
        item = alert_fields(alert, notification)
        route = _alert_route(alert_priority(item["severity"]), settings.alert_dedup_ttl_s)
        candidate = Candidate(
            key=item["key"],
            state=item["status"],
            items_json=orjson.dumps(item).decode(),
            storm_set=plan.storm_set,
            storm_member=plan.member,
            digest=plan.digest,
            storm_digest=plan.storm_digest,
        )
        candidates.append((route, candidate))
    return Offer(
        candidates=candidates,
        storm_threshold=storms.threshold,
        storm_ttl_s=storms.set_ttl_s,
        digest_due=due,
        pressure=pressure.entries(notification, now),
        now=now,
    )


def _chat_backlog_lists() -> Sequence[str]:
    buckets = queue_keys(Queue.CHATS)
    return [*buckets, *(parked(b) for b in buckets)]


def chat_offer(batch: ChatBatch, settings: GatewaySettings) -> tuple[Offer, int, int]:
    """The batch's messages as chunked candidates under admission control.

    Returns the offer, how many messages were empty and skipped, and how many chunks
    (embedding inputs) the rest make.
    """
    messages, skipped = chat_messages(
        batch, max_chars=settings.chunk_max_chars, overlap_chars=settings.chunk_overlap_chars
    )
    # State is the content hash: an edited message is embedded again, and its old chunks go.
    route = Route(
        task=Task.EMBED_CHATS,
        queue=Queue.CHATS,
        priority=Priority.CHAT,
        ttl_s=settings.chat_dedup_ttl_s,
        on_change="embed",
    )
    candidates = [
        (
            route,
            Candidate(
                key=m.key,
                state=m.content_hash,
                items_json=",".join(orjson.dumps(c.model_dump()).decode() for c in m.chunks),
                inputs=len(m.chunks),
            ),
        )
        for m in messages
    ]
    admission = Admission(
        cap_items=settings.chat_backlog_cap,
        per_message=settings.embed_batch_size,
        lists=_chat_backlog_lists(),
        drained_keys=drain.bucket_keys("chat", time.time()),
    )
    chunks = sum(len(m.chunks) for m in messages)
    return Offer(candidates=candidates, admission=admission), skipped, chunks
