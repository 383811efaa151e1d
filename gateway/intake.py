"""Turning intake payloads into enqueue groups: per-item dedup keys, queues and priorities."""

from collections import defaultdict
from collections.abc import Iterator, Sequence

import orjson

from common.alertmanager import Notification
from common.chats import ChatBatch
from common.contract import Priority, Queue, Task, alert_priority
from common.enqueue import Candidate, Route
from common.items import AlertItem, ChatItem, alert_item, chat_items
from common.settings import GatewaySettings

Group = tuple[Route, Sequence[Candidate]]


def _chunks(candidates: Sequence[Candidate], size: int) -> Iterator[Sequence[Candidate]]:
    for start in range(0, len(candidates), size):
        yield candidates[start : start + size]


def _candidate(item: AlertItem | ChatItem, state: str) -> Candidate:
    return Candidate(key=item.key, state=state, item_json=orjson.dumps(item.model_dump()).decode())


def alert_groups(
    notification: Notification,
    settings: GatewaySettings,
    *,
    digests: Sequence[str] = (),
    digest_due: float = 0.0,
) -> list[Group]:
    """Group alerts by priority (or digest buffer), in chunks of one embedding batch each."""
    grouped: dict[tuple[int, str], list[Candidate]] = defaultdict(list)
    buffers = list(digests) or [""] * len(notification.alerts)
    for alert, buffer in zip(notification.alerts, buffers, strict=True):
        item = alert_item(alert, notification)
        # State is the status: a resend is a duplicate, a resolution an update of the same point.
        grouped[(alert_priority(item.severity), buffer)].append(_candidate(item, item.status))
    groups: list[Group] = []
    for (priority, buffer), candidates in sorted(grouped.items()):
        route = Route(
            task=Task.EMBED_ALERTS,
            queue=Queue.ALERTS,
            priority=priority,
            ttl_s=settings.alert_dedup_ttl_s,
            on_change="update",
            update_task=Task.UPDATE_ALERTS,
            update_queue=Queue.STORE,
            update_priority=Priority.STATUS_UPDATE,
            digest_buffer=buffer,
            digest_due=digest_due,
        )
        size = len(candidates) if buffer else settings.embed_batch_size
        groups += [(route, chunk) for chunk in _chunks(candidates, size)]
    return groups


def chat_groups(batch: ChatBatch, settings: GatewaySettings) -> tuple[list[Group], int]:
    """Chat messages in embedding-sized chunks, and how many were empty and skipped."""
    items = chat_items(batch)
    skipped = sum(len(c.messages) for c in batch.conversations) - len(items)
    # State is the content hash: an edited message is embedded again onto the same point.
    candidates = [_candidate(item, item.content_hash) for item in items]
    route = Route(
        task=Task.EMBED_CHATS,
        queue=Queue.CHATS,
        priority=Priority.CHAT,
        ttl_s=settings.chat_dedup_ttl_s,
        on_change="embed",
    )
    return [(route, chunk) for chunk in _chunks(candidates, settings.embed_batch_size)], skipped
