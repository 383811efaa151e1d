"""Interactive search: one embedding call here, the ranking from the store worker.

Only the store worker may open Qdrant (local mode allows one process and one thread), so the
gateway asks it over Redis: a high-priority message on the store queue and a reply list. The
query text travels with its embedding, for BM25; a `sparse` search embeds nothing.
"""

import asyncio
import time
from typing import Any

from redis.asyncio import Redis
from starlette.concurrency import run_in_threadpool

from common.contract import Task
from common.embedding.client import Embedder
from common.errors import CortexError, Shed
from common.points import Fusion, SearchMode
from common.protect.guard import EmbedGuard
from gateway.asking import ask_store
from gateway.errors import ApiError
from gateway.metrics import SEARCHES


class Searcher:
    """Bounded interactive search: a few at a time, each within one deadline."""

    def __init__(
        self,
        redis: Redis,
        embedder: Embedder,
        guard: EmbedGuard,
        *,
        query_prefix: str,
        timeout_s: float,
        concurrency: int,
        retry_after_s: int,
    ) -> None:
        self._redis = redis
        self._embedder = embedder
        self._guard = guard
        self._prefix = query_prefix
        self._timeout_s = timeout_s
        self._slots = asyncio.Semaphore(concurrency)
        self._retry_after = {"Retry-After": str(retry_after_s)}

    async def search(
        self, query: str, *, kind: str | None, limit: int, mode: SearchMode = "hybrid",
        fusion: Fusion = "boost", since: str | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Rank stored items against the query; 503 when the embedder or store cannot answer.

        `since` (RFC 3339) keeps alerts that started and chat messages written from then on.
        """
        deadline = time.monotonic() + self._timeout_s
        vector = None if mode == "sparse" else await self._bounded_embed(query)
        asked = {"text": query, "vector": vector, "mode": mode, "fusion": fusion}
        if since is not None:
            asked["since"] = since
        hits = await self._ranked(asked, kind=kind, limit=limit, deadline=deadline)
        SEARCHES.labels("ok").inc()
        return hits

    async def embed(self, text: str) -> list[float]:
        """One interactive embedding of a query under search's slots, guard and deadline."""
        return await self._bounded_embed(text)

    async def _bounded_embed(self, query: str) -> list[float]:
        try:
            async with asyncio.timeout(self._timeout_s):
                async with self._slots:
                    return await self._embed(query)
        except TimeoutError:
            SEARCHES.labels("busy").inc()
            raise ApiError(503, "search busy, retry later", None, self._retry_after) from None

    def _guarded_embed(self, query: str) -> list[list[float]]:
        # Search shares the cluster-wide slots (from the share bulk work cannot take),
        # the breaker and its own rate limit: it is one interactive call, never a storm.
        return self._guard.call(
            "search", [self._prefix + query],
            lambda texts, timeout_s: self._embedder.embed(texts, timeout_s=timeout_s),
            wait_s=min(2.0, self._timeout_s / 2),
        )  # fmt: skip

    async def _embed(self, query: str) -> list[float]:
        try:
            vectors = await run_in_threadpool(self._guarded_embed, query)
        except Shed as shed:
            SEARCHES.labels(f"shed_{shed.reason}").inc()
            raise ApiError(503, "search shed to protect the embedding backend", shed.reason,
                           self._retry_after) from None  # fmt: skip
        except CortexError as exc:
            SEARCHES.labels("embedder_unavailable").inc()
            raise ApiError(
                503, "embedding backend unavailable", str(exc), self._retry_after
            ) from None
        return vectors[0]

    async def _ranked(
        self, asked: dict[str, Any], *, kind: str | None, limit: int, deadline: float
    ) -> list[dict[str, Any]]:
        request = {**asked, "kind": kind, "limit": limit}
        answer = await ask_store(self._redis, Task.SEARCH, request, deadline=deadline)
        if answer is None:
            SEARCHES.labels("store_timeout").inc()
            raise ApiError(503, "store worker did not answer in time", None, self._retry_after)
        if "error" in answer:
            SEARCHES.labels("store_error").inc()
            raise ApiError(503, "store unavailable", answer["error"], self._retry_after)
        hits: list[dict[str, Any]] = answer["hits"]
        return hits
