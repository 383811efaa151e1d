"""Versioned payloads carried by queue messages, and how they are built from intake models."""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from common.alertmanager import Alert, Notification
from common.chats import ChatBatch
from common.chunking import split_text

ITEM_VERSION = 1
# Fixed namespace: point ids must be identical in every process and every release.
_POINT_NAMESPACE = uuid.UUID("5b0e8d36-7a51-4d8e-9c39-2f2f5c0c9a11")
_NO_END = datetime(1970, 1, 2, tzinfo=UTC)


class _Item(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    v: Literal[1] = 1
    key: str

    @property
    def point_id(self) -> str:
        """The store id of this item: stable, so a redelivery overwrites."""
        return point_id(self.key)


class AlertItem(_Item):
    """One alert occurrence as queued for embedding or a status update."""

    fingerprint: str
    alertname: str
    severity: str
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str
    ends_at: str | None
    generator_url: str
    group_key: str

    def payload(self) -> dict[str, Any]:
        """What the store keeps and search returns for this alert."""
        return {
            "key": self.key,
            "fingerprint": self.fingerprint,
            "alertname": self.alertname,
            "severity": self.severity,
            "labels": self.labels,
            "status": self.status,
            "startsAt": self.starts_at,
            "endsAt": self.ends_at,
            "summary": self.annotations.get("summary") or self.annotations.get("message", ""),
            "description": self.annotations.get("description", ""),
            "generatorURL": self.generator_url,
            "groupKey": self.group_key,
        }


class ChatItem(_Item):
    """One chunk of a chat message as queued for embedding (most messages are one chunk)."""

    source: str
    conversation_id: str
    title: str
    message_id: str
    role: str
    text: str
    created_at: str
    # Of the whole message: an edit changes it, and the store then drops the old chunks.
    content_hash: str
    message_key: str
    chunk: int = 0
    chunks: int = 1

    def payload(self) -> dict[str, Any]:
        """What the store keeps and search returns for this message."""
        return {
            "key": self.key,
            "source": self.source,
            "conversation_id": self.conversation_id,
            "title": self.title,
            "message_id": self.message_id,
            "role": self.role,
            "text": self.text,
            "created_at": self.created_at,
            "content_hash": self.content_hash,
            "message_key": self.message_key,
            "chunk": self.chunk,
            "chunks": self.chunks,
        }


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def point_id(dedup_key: str) -> str:
    """Deterministic uuid5 of a dedup key."""
    return str(uuid.uuid5(_POINT_NAMESPACE, dedup_key))


def alert_fingerprint(alert: Alert) -> str:
    """Alertmanager's fingerprint, or a stable hash of the labels when a sender omits it."""
    if alert.fingerprint:
        return alert.fingerprint
    return _digest(*(f"{k}={v}" for k, v in sorted(alert.labels.items())))[:16]


def alert_key(fingerprint: str, starts_at: datetime) -> str:
    """One alert occurrence: the same fingerprint firing again has a new startsAt."""
    return "alert:" + _digest(fingerprint, starts_at.astimezone(UTC).isoformat())


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def alert_fields(alert: Alert, notification: Notification) -> dict[str, Any]:
    """The queued form of one alert of a notification, as the fields of an `AlertItem`.

    Plain data, built once from a validated Notification: the gateway serialises it as it is
    (its hot path), and workers validate it as an `AlertItem` when they read it.
    """
    fingerprint = alert_fingerprint(alert)
    ends_at = alert.ends_at if alert.ends_at and alert.ends_at > _NO_END else None
    starts_at = alert.starts_at.astimezone(UTC).isoformat()
    return {
        "v": ITEM_VERSION,
        "key": "alert:" + _digest(fingerprint, starts_at),
        "fingerprint": fingerprint,
        "alertname": alert.labels.get("alertname", ""),
        "severity": alert.labels.get("severity", ""),
        "status": alert.status,
        "labels": alert.labels,
        "annotations": alert.annotations,
        "starts_at": starts_at.replace("+00:00", "Z"),
        "ends_at": _rfc3339(ends_at) if ends_at else None,
        "generator_url": alert.generator_url,
        "group_key": notification.group_key,
    }


def alert_item(alert: Alert, notification: Notification) -> AlertItem:
    """The queued form of one alert of a notification."""
    return AlertItem.model_validate(alert_fields(alert, notification))


def chat_key(source: str, conversation_id: str, message_id: str) -> str:
    """One chat message, whatever its content: an edit replaces the same point."""
    return "chat:" + _digest(source, conversation_id, message_id)


@dataclass(frozen=True)
class ChatMessageItems:
    """A message's dedup unit: its key, content hash and the chunk items it is embedded as."""

    key: str
    content_hash: str
    chunks: list[ChatItem]


def chat_messages(
    batch: ChatBatch, *, max_chars: int, overlap_chars: int
) -> tuple[list[ChatMessageItems], int]:
    """Every message with text, split into chunks that fit the model; and how many were empty.

    A long message is chunked, never truncated: each chunk is its own point, and all of a
    message's chunks share its key and content hash.
    """
    messages, skipped = [], 0
    for conversation in batch.conversations:
        for message in conversation.messages:
            parts = split_text(message.text, max_chars=max_chars, overlap_chars=overlap_chars)
            if not parts:
                skipped += 1
                continue
            key = chat_key(batch.source, conversation.id, message.id)
            content_hash = _digest(message.role, message.text)[:16]
            created_at = _rfc3339(message.created_at)
            chunks = [
                ChatItem(
                    key=f"{key}#{i}",
                    source=batch.source,
                    conversation_id=conversation.id,
                    title=conversation.title,
                    message_id=message.id,
                    role=message.role,
                    text=part,
                    created_at=created_at,
                    content_hash=content_hash,
                    message_key=key,
                    chunk=i,
                    chunks=len(parts),
                )
                for i, part in enumerate(parts)
            ]
            messages.append(ChatMessageItems(key, content_hash, chunks))
    return messages, skipped
