"""Writing points, alert status updates and answering searches; run by the store worker only."""

import time
from collections.abc import Sequence
from typing import Any

import orjson
import redis
from pydantic import TypeAdapter, ValidationError

from common import keys
from common.errors import CortexError, PermanentError
from common.items import AlertItem
from common.points import Point, SearchQuery
from common.recall import Ask, RecallReply
from common.vectorstore import VectorStore
from workers import versions
from workers.recall import answer as recall
from workers.recall.memory import Memory

_REPLY_TTL_S = 60
_ASK: TypeAdapter[Ask] = TypeAdapter(Ask)


def parse_points(raw: Sequence[Any]) -> list[Point]:
    """Validate queued points; unreadable ones are a permanent failure."""
    try:
        return [Point.model_validate(p) for p in raw]
    except ValidationError as exc:
        raise PermanentError(f"unreadable point payload: {exc}") from exc


def chat_version(point: Point) -> tuple[str, str] | None:
    """A chat point's (message key, content hash); None for anything else."""
    if point.kind != "chat" or "message_key" not in point.payload:
        return None
    return str(point.payload["message_key"]), str(point.payload["content_hash"])


def store_points(points: Sequence[Point], store: VectorStore, r: redis.Redis) -> int:
    """Upsert points (idempotent by id), count new ones, then apply any newer alert status.

    Chat points of a superseded version are dropped; after an edit, the message's chunks
    of other versions are deleted, so an edit replaces its vectors instead of adding more.
    """
    points = versions.current(points, r, version_of=chat_version)
    new = store.upsert(points)
    kinds = {p.kind for p in points}
    if new and len(kinds) == 1:
        r.hincrby(keys.STORED_COUNTS, kinds.pop(), new)
    elif new:
        for kind in kinds:
            r.hset(keys.STORED_COUNTS, kind, store.count(kind))
    # Every version has a chunk 0: when all points were new, no older version exists.
    chat = dict(v for v in map(chat_version, points) if v)
    if chat and new < len(points):
        deleted = store.delete_other_versions(chat)
        if deleted:
            r.hincrby(keys.STORED_COUNTS, "chat", -deleted)
    _apply_pending_status([p for p in points if p.kind == "alert"], store, r)
    return new


def _apply_pending_status(points: Sequence[Point], store: VectorStore, r: redis.Redis) -> None:
    # A resolution may have been handled before this point existed; it left its status
    # behind, and applying it after the upsert closes the race in either order.
    if not points:
        return
    statuses = r.mget([keys.alert_status(p.id) for p in points])
    for point, status in zip(points, statuses, strict=True):
        if status is not None and point.payload.get("status") != orjson.loads(status)["status"]:
            store.set_payload(point.id, orjson.loads(status))


def update_alerts(
    items: Sequence[AlertItem], store: VectorStore, r: redis.Redis, *, ttl_s: int
) -> int:
    """Record each alert's new status, then patch its point if stored; returns points patched."""
    patched = 0
    for item in items:
        status = {"status": item.status, "endsAt": item.ends_at}
        # Written first: a concurrent first store of the point re-reads it after its upsert.
        r.set(keys.alert_status(item.point_id), orjson.dumps(status), ex=ttl_s)
        patched += store.set_payload(item.point_id, status)
    return patched


def search_query(request: dict[str, Any]) -> SearchQuery:
    """The query a gateway's request asks; one of a release before hybrid search is dense."""
    if "mode" not in request:
        return SearchQuery(vector=request["vector"], mode="dense")
    try:
        return SearchQuery.model_validate(
            {k: request[k] for k in ("text", "vector", "mode", "fusion") if k in request}
        )
    except ValidationError as exc:
        raise PermanentError(f"unreadable search request: {exc}") from exc


def answer_search(request: dict[str, Any], store: VectorStore, r: redis.Redis) -> None:
    """Run one search for the gateway and push the answer to its reply list."""
    if request.get("expires_at", float("inf")) < time.time():
        return  # the gateway has given up waiting; nobody would read the answer
    try:
        query = search_query(request)
        hits = store.search(
            query, kind=request.get("kind"), limit=int(request["limit"]),
            since=request.get("since"),
        )  # fmt: skip
        answer: dict[str, Any] = {"hits": [hit.model_dump() for hit in hits]}
    except CortexError as exc:
        answer = {"error": str(exc)}
    _reply(r, str(request["request_id"]), answer)


def answer_recall(request: dict[str, Any], memory: Memory, r: redis.Redis) -> None:
    """Answer one recall, alert history or conversation request for the gateway."""
    if request.get("expires_at", float("inf")) < time.time():
        return  # the gateway has given up waiting; nobody would read the answer
    try:
        reply = recall.answer(_ASK.validate_python(request), memory)
    except ValidationError as exc:
        reply = RecallReply(error=f"unreadable recall request: {exc}")
    except CortexError as exc:
        reply = RecallReply(error=str(exc))
    _reply(r, str(request.get("request_id")), reply.model_dump(exclude_defaults=True))


def _reply(r: redis.Redis, request_id: str, answer: dict[str, Any]) -> None:
    """Push an answer to the gateway's reply list, kept only briefly if nobody reads it."""
    reply_key = keys.reply(request_id)
    with r.pipeline() as pipe:
        pipe.lpush(reply_key, orjson.dumps(answer))
        pipe.expire(reply_key, _REPLY_TTL_S)
        pipe.execute()
