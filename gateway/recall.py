"""Recall, alert history and conversations: validated here, answered by the store worker.

The gateway never opens Qdrant: it sends a `common.recall` ask on the store queue (as search
does, `gateway.asking`) and maps the reply to HTTP. A stored alert is recalled with its stored
vectors, so no embedding happens here for it; free text costs one embedding call, and so does a
posted alert the store does not hold yet (the store says `needs_vector`), each through the same
guard, slots and budget as `/v1/search`.
"""

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from common.contract import Task
from common.points import Fusion
from common.text import alert_document
from gateway.asking import ask_store
from gateway.errors import ApiError
from gateway.search import Searcher

_DURATION = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def invalid(field: str, problem: str) -> ApiError:
    """The 422 naming one field, in the shape every validation error has."""
    return ApiError(422, "invalid request", [{"field": field, "problem": problem}])


def parse_since(text: str | None, *, now: datetime | None = None) -> str | None:
    """`since` as an RFC 3339 UTC time: an ISO-8601 time or date, or a duration back from now
    (`90s`, `30m`, `24h`, `7d`, `2w`); a 422 naming `since` otherwise."""
    if text is None:
        return None
    try:
        moment = _moment(text, now or datetime.now(UTC))
    except (ValueError, OverflowError):
        raise invalid(
            "since", "an ISO-8601 time (2026-04-01T00:00:00Z) or a duration (24h, 7d)"
        ) from None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _moment(text: str, now: datetime) -> datetime:
    if match := _DURATION.match(text):
        return now - timedelta(seconds=int(match[1]) * _UNIT_S[match[2]])
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Recaller:
    """Asks the store worker for recalls, alert histories and conversations, within one deadline."""

    def __init__(
        self, redis: Redis, searcher: Searcher, *, timeout_s: float, retry_after_s: int,
        fusion: Fusion,
    ) -> None:  # fmt: skip
        self._redis = redis
        self._searcher = searcher
        self._timeout_s = timeout_s
        self._retry_after = {"Retry-After": str(retry_after_s)}
        self._fusion = fusion

    async def recall(self, target: dict[str, Any], filters: dict[str, Any]) -> dict[str, Any]:
        """The recall answer for one target (fingerprint, alertname..., text, or point_id with
        its payload); 404 for an alert not stored, 503 when the store cannot answer."""
        deadline = time.monotonic() + self._timeout_s
        ask = {"op": "recall", **target, **filters, "fusion": self._fusion}
        if "text" in target:
            ask["vector"] = await self._searcher.embed(target["text"])
        reply = await self._ask(ask, deadline)
        if reply.get("needs_vector"):
            # A posted alert the store does not hold: its text is embedded once, as a query.
            ask["vector"] = await self._searcher.embed(alert_document(target["payload"]))
            reply = await self._ask(ask, deadline)
        return self._answer(reply)

    async def history(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The `Before` of one alert identity."""
        deadline = time.monotonic() + self._timeout_s
        return self._answer(await self._ask({"op": "history", **fields}, deadline))

    async def conversation(self, conversation_id: str) -> dict[str, Any]:
        """One stored conversation; 404 when unknown."""
        deadline = time.monotonic() + self._timeout_s
        ask = {"op": "conversation", "conversation_id": conversation_id}
        return self._answer(await self._ask(ask, deadline))

    async def _ask(self, ask: dict[str, Any], deadline: float) -> dict[str, Any]:
        reply = await ask_store(self._redis, Task.RECALL, ask, deadline=deadline)
        if reply is None:
            raise ApiError(503, "store worker did not answer in time", None, self._retry_after)
        return reply

    def _answer(self, reply: dict[str, Any]) -> dict[str, Any]:
        if "error" in reply:
            raise ApiError(503, "store unavailable", reply["error"], self._retry_after)
        if "not_found" in reply:
            raise ApiError(404, "not found", reply["not_found"])
        answer: dict[str, Any] = reply["answer"]
        return answer
