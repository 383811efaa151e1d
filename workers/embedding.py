"""Turning queued items into points: one embedding call per batch, no Celery in sight."""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from common.embedding.client import Embedder
from common.errors import PermanentError
from common.items import AlertItem, ChatItem
from common.points import Kind, Point
from common.protect.digest import digest_text
from common.text import alert_text, chat_text

ItemT = TypeVar("ItemT", AlertItem, ChatItem)


def parse_items(model: type[ItemT], raw: Sequence[Any]) -> list[ItemT]:
    """Validate queued payloads; a payload no release can read is a permanent failure."""
    try:
        return [model.model_validate(item) for item in raw]
    except ValidationError as exc:
        raise PermanentError(f"unreadable {model.__name__} payload: {exc}") from exc


def embed_points(
    items: Sequence[ItemT],
    embedder: Embedder,
    *,
    kind: Kind,
    text_of: Callable[[ItemT], str],
    prefix: str,
) -> list[Point]:
    """Embed every item in one call and pair each vector with its item's point id and payload."""
    vectors = embedder.embed([prefix + text_of(item) for item in items])
    return [
        Point(id=item.point_id, kind=kind, vector=vector, payload=_payload(item))
        for item, vector in zip(items, vectors, strict=True)
    ]


def _payload(item: BaseModel) -> dict[str, Any]:
    payload: dict[str, Any] = item.payload()  # type: ignore[attr-defined]
    return payload


def embed_alerts(raw: Sequence[Any], embedder: Embedder, *, prefix: str) -> list[Point]:
    """Points for queued alert items."""
    items = parse_items(AlertItem, raw)
    return embed_points(items, embedder, kind="alert", text_of=alert_text, prefix=prefix)


def embed_chats(raw: Sequence[Any], embedder: Embedder, *, prefix: str) -> list[Point]:
    """Points for queued chat items."""
    items = parse_items(ChatItem, raw)
    return embed_points(items, embedder, kind="chat", text_of=chat_text, prefix=prefix)


def embed_digest(raw: Sequence[Any], embedder: Embedder, *, prefix: str) -> list[Point]:
    """One embedding for a storm's digest; every member alert gets a point with that vector."""
    items = parse_items(AlertItem, raw)
    [vector] = embedder.embed([prefix + digest_text(items)])
    digest = {"digest_size": len(items), "digest_of": sorted({i.alertname for i in items})}
    return [
        Point(id=item.point_id, kind="alert", vector=vector, payload={**item.payload(), **digest})
        for item in items
    ]
