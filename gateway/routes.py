"""The gateway's HTTP surface: chat intake, search, stats and probes (alerts: webhook.py)."""

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from common import stats
from common.chats import ChatBatch
from common.enqueue import Refused
from common.points import Fusion, SearchMode
from common.protect import drain
from gateway.auth import check_token, require_reader
from gateway.body import parse, read_body
from gateway.errors import ApiError, JSONBody
from gateway.intake import chat_offer
from gateway.metrics import ITEMS
from gateway.recall import parse_since
from gateway.state import State

router = APIRouter()
# A refused client is told to come back once the backlog is back under this share of the cap.
_LOW_WATER = 0.9


def _state(request: Request) -> State:
    state: State = request.app.state.cortex
    return state


@router.post("/v1/chats", status_code=202)
async def receive_chats(request: Request) -> JSONBody:
    """Accept a chat batch: 202 once every message is queued or known; 429 over the cap."""
    state = _state(request)
    settings = state.settings
    check_token(request, settings.webhook_token)
    batch = parse(ChatBatch, await read_body(request, limit=settings.max_chat_body_bytes))
    offer, skipped, chunks = chat_offer(batch, settings)
    try:
        outcome = await state.enqueuer.offer(offer)
    except Refused as refused:
        ITEMS.labels("chat", "refused").inc(len(offer.candidates))
        rate = drain.rate_per_s(refused.drained, time.time())
        wait_s = drain.retry_after_s(
            refused.backlog_items, settings.chat_backlog_cap, rate,
            low_water=_LOW_WATER, max_s=settings.chat_retry_after_max_s,
        )  # fmt: skip
        detail = {
            "backlog_items": refused.backlog_items,
            "cap_items": settings.chat_backlog_cap,
            "drain_per_s": round(rate, 2),
            "retry_after_s": wait_s,
        }
        headers = {"Retry-After": str(wait_s)}
        raise ApiError(429, "chat backlog over its cap", detail, headers) from None
    ITEMS.labels("chat", "accepted").inc(outcome.accepted)
    ITEMS.labels("chat", "duplicate").inc(outcome.duplicates)
    ITEMS.labels("chat", "skipped_empty").inc(skipped)
    body = {
        "accepted": outcome.accepted,
        "duplicates": outcome.duplicates,
        "skipped": skipped,
        "chunks": chunks,
    }
    return JSONBody(body, status_code=202)


@router.get("/v1/search", dependencies=[Depends(require_reader)])
async def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=4000)],
    kind: Literal["alert", "chat"] | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    mode: SearchMode = "hybrid",
    fusion: Fusion | None = None,
    since: Annotated[
        str | None, Query(description="ISO-8601 time, or a duration back from now: 24h, 7d")
    ] = None,
) -> JSONBody:
    """Ranked matches for a query; one interactive embedding call (none in `sparse` mode)."""
    state = _state(request)
    limit = min(limit, state.settings.search_max_limit)
    fused = fusion or state.settings.search_fusion
    hits = await state.searcher.search(
        q, kind=kind, limit=limit, mode=mode, fusion=fused, since=parse_since(since)
    )
    return JSONBody({"query": q, "kind": kind, "mode": mode, "results": hits})


@router.get("/v1/stats")
async def get_stats(request: Request) -> JSONBody:
    """Queue depths, parked, dead letters, breaker, concurrency, stored counts: Redis only."""
    state = _state(request)
    body: dict[str, Any] = await run_in_threadpool(
        stats.gather, state.sync_redis, slots_cap=state.settings.concurrency_cap
    )
    return JSONBody(body)


@router.get("/healthz")
async def healthz() -> JSONBody:
    """The process answers; touches nothing else, so a busy backend never fails the probe."""
    return JSONBody({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> JSONBody:
    """Ready while Redis answers a PING (never checks Ollama or Qdrant)."""
    await _state(request).redis.ping()
    return JSONBody({"status": "ready"})


@router.get("/metrics")
async def metrics() -> Response:
    """Prometheus text format; the cluster-wide gauges are read from Redis at scrape time."""
    return Response(await run_in_threadpool(generate_latest), media_type=CONTENT_TYPE_LATEST)
