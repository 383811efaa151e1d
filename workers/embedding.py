"""Turning queued items into points: one embedding call per batch, no Celery in sight.

Each point also carries its BM25 sparse vector, computed here from its payload's text
(`common.text.document_text`), in-process and outside the embedding slot.
"""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from common import sparse
from common.embedding.client import Embedder
from common.errors import PermanentError
from common.items import AlertItem, ChatItem
from common.points import Kind, Point
from common.protect.digest import digest_text
from common.text import alert_text, chat_text, document_text

ItemT = TypeVar("ItemT", AlertItem, ChatItem)


def parse_items(model: type[ItemT], raw: Sequence[Any]) -> list[ItemT]:
    """Validate queued payloads; a payload no release can read is a permanent failure."""
    try:
        return [model.model_validate(item) for item in raw]
    except ValidationError as exc:
        raise PermanentError(f"unreadable {model.__name__} payload: {exc}") from exc


def make_point(
    point_id: str, kind: Kind, vector: list[float], payload: dict[str, Any], *, avg_len: float
) -> Point:
    """A point with its dense vector and the BM25 vector of its payload's text."""
    bm25 = sparse.document_vector(document_text(kind, payload), avg_len=avg_len)
    return Point(id=point_id, kind=kind, vector=vector, payload=payload, sparse=bm25)


def embed_points(
    items: Sequence[ItemT],
    embedder: Embedder,
    *,
    kind: Kind,
    text_of: Callable[[ItemT], str],
    prefix: str,
    avg_len: float,
) -> list[Point]:
    """Embed every item in one call and pair each vector with its item's point id and payload."""
    vectors = embedder.embed([prefix + text_of(item) for item in items])
    return [
        make_point(item.point_id, kind, vector, _payload(item), avg_len=avg_len)
        for item, vector in zip(items, vectors, strict=True)
    ]


def _payload(item: BaseModel) -> dict[str, Any]:
    payload: dict[str, Any] = item.payload()  # type: ignore[attr-defined]
    return payload


def embed_alerts(
    raw: Sequence[Any], embedder: Embedder, *, prefix: str, avg_len: float = sparse.DEFAULT_AVG_LEN
) -> list[Point]:
    """Points for queued alert items."""
    items = parse_items(AlertItem, raw)
    return embed_points(
        items, embedder, kind="alert", text_of=alert_text, prefix=prefix, avg_len=avg_len
    )


def embed_chats(
    raw: Sequence[Any], embedder: Embedder, *, prefix: str, avg_len: float = sparse.DEFAULT_AVG_LEN
) -> list[Point]:
    """Points for queued chat items."""
    items = parse_items(ChatItem, raw)
    return embed_points(
        items, embedder, kind="chat", text_of=chat_text, prefix=prefix, avg_len=avg_len
    )


def embed_digest(
    raw: Sequence[Any], embedder: Embedder, *, prefix: str, avg_len: float = sparse.DEFAULT_AVG_LEN
) -> list[Point]:
    """One embedding for a storm's digest; every member alert gets a point with that vector.

    Its BM25 vector is the member's own: a pasted pod name finds that member, not the storm.
    """
    items = parse_items(AlertItem, raw)
    [vector] = embedder.embed([prefix + digest_text(items)])
    digest = {"digest_size": len(items), "digest_of": sorted({i.alertname for i in items})}
    return [
        make_point(item.point_id, "alert", vector, {**item.payload(), **digest}, avg_len=avg_len)
        for item in items
    ]
