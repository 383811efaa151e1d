"""The gateway's per-process clients, created at start-up and closed at shutdown."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import requests
from prometheus_client import REGISTRY
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from common.embedding.client import ollama_embedder
from common.enqueue import Enqueuer
from common.protect.guard import EmbedGuard
from common.protect.telemetry import RedisCollector
from common.settings import GatewaySettings
from gateway.pressure import PressureWatch
from gateway.recall import Recaller
from gateway.search import Searcher
from gateway.storm import StormWatch


@dataclass
class State:
    """Everything a request handler needs, built once."""

    settings: GatewaySettings
    redis: Redis
    sync_redis: SyncRedis
    enqueuer: Enqueuer
    searcher: Searcher
    recaller: Recaller
    pressure: PressureWatch
    storms: StormWatch


def _redis(settings: GatewaySettings, *, socket_timeout_s: float) -> Redis:
    # No client-side retries: a failed write must become a 503 quickly, not a stall.
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=socket_timeout_s,
        socket_connect_timeout=settings.redis_timeout_s,
        retry_on_timeout=False,
        retry=None,
        health_check_interval=10,
    )


@asynccontextmanager
async def open_state(settings: GatewaySettings) -> AsyncIterator[State]:
    """Create the Redis clients and the search embedder; close them on exit."""
    client = _redis(settings, socket_timeout_s=settings.redis_timeout_s)
    # Search waits on a reply list with BLPOP, which must outlive the normal socket timeout.
    blocking = _redis(settings, socket_timeout_s=settings.search_timeout_s + 5)
    session = requests.Session()
    embedder = ollama_embedder(settings, session)
    # Stats, scrapes and the guard's scripts: a sync client, used from the threadpool.
    sync_redis = SyncRedis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_s,
        socket_connect_timeout=settings.redis_timeout_s,
    )
    searcher = Searcher(
        blocking,
        embedder,
        EmbedGuard(sync_redis, settings),
        query_prefix=settings.embed_query_prefix,
        timeout_s=settings.search_timeout_s,
        concurrency=settings.search_concurrency,
        retry_after_s=settings.retry_after_s,
    )
    recaller = Recaller(
        blocking, searcher, timeout_s=settings.search_timeout_s,
        retry_after_s=settings.retry_after_s, fusion=settings.search_fusion,
    )  # fmt: skip
    collector = RedisCollector(sync_redis, slots_cap=settings.concurrency_cap)
    REGISTRY.register(collector)
    try:
        yield State(
            settings=settings, redis=client, sync_redis=sync_redis,
            enqueuer=Enqueuer(
                client, batch_items=settings.embed_batch_size,
                batch_bytes=settings.batch_max_bytes,
            ), searcher=searcher, recaller=recaller, pressure=PressureWatch(settings),
            storms=StormWatch(settings),
        )  # fmt: skip
    finally:
        REGISTRY.unregister(collector)
        session.close()
        sync_redis.close()
        await client.aclose()
        await blocking.aclose()
