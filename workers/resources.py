"""Per-process clients for tasks: created on first use after fork, closed at shutdown."""

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import requests
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError
from redis.retry import Retry

from common.embedding.client import OllamaEmbedder, ollama_embedder
from common.protect.guard import EmbedGuard
from common.settings import WorkerSettings
from common.vectorstore import VectorStore
from workers.leases import Renewer
from workers.qdrant.memory import QdrantMemory
from workers.qdrant.opening import open_qdrant_store
from workers.qdrant.store import QdrantStore
from workers.recall.memory import Memory
from workers.spool import Spool

log = logging.getLogger(__name__)


def worker_redis_retry() -> dict[str, Any]:
    """Ride out a Redis restart (~20 s) inside a task instead of failing the task.

    Unlike the gateway, which must answer 503 at once, a worker has time: a task that fails
    while Redis is down cannot even be acked or dead-lettered until Redis is back.
    """
    return {
        "retry": Retry(ExponentialWithJitterBackoff(base=0.2, cap=2.0), retries=12),
        "retry_on_error": [ConnectionError, TimeoutError, BusyLoadingError],
    }


@dataclass
class Resources:
    """Clients of one worker process; the vector store opens only where store tasks run."""

    settings: WorkerSettings
    _redis: redis.Redis | None = None
    _embedder: OllamaEmbedder | None = None
    _store: QdrantStore | None = field(default=None, repr=False)
    _guard: EmbedGuard | None = None
    _spool: Spool | None = None
    _renewer: Renewer | None = None

    def guard(self) -> EmbedGuard:
        """The shared breaker, limits and slots every embedding call passes."""
        if self._guard is None:
            self._guard = EmbedGuard(
                self.redis(), self.settings, redis_options=worker_redis_retry()
            )
        return self._guard

    def redis(self) -> redis.Redis:
        """A Redis client for dead letters, status records and search replies."""
        if self._redis is None:
            self._redis = redis.Redis.from_url(
                self.settings.redis_url,
                socket_timeout=self.settings.redis_timeout_s,
                socket_connect_timeout=self.settings.redis_timeout_s,
                health_check_interval=10,
                **worker_redis_retry(),
            )
        return self._redis

    def embedder(self) -> OllamaEmbedder:
        """The Ollama client, one HTTP session per process."""
        if self._embedder is None:
            self._embedder = ollama_embedder(self.settings, requests.Session())
        return self._embedder

    def spool(self) -> Spool:
        """This node's spool of vectors not yet handed to the store."""
        if self._spool is None:
            s = self.settings
            self._spool = Spool(
                Path(s.spool_dir), model=s.embed_model, max_bytes=s.spool_max_mb * 2**20,
                ttl_s=s.spool_ttl_s,
            )  # fmt: skip
        return self._spool

    def renewer(self) -> Renewer:
        """The main process's lease renewer (one per worker, not per pool process)."""
        if self._renewer is None:
            s = self.settings
            self._renewer = Renewer(s.redis_url, timeout_s=s.redis_timeout_s)
        return self._renewer

    def store(self) -> VectorStore:
        """The vector store, its collection checked against the configured model and dim."""
        return self._qdrant()

    def memory(self) -> Memory:
        """Recall's read side of the same store (one client: local mode allows one)."""
        return QdrantMemory(self._qdrant())

    def _qdrant(self) -> QdrantStore:
        if self._store is None:
            s = self.settings
            store = open_qdrant_store(
                url=s.qdrant_url,
                path=s.qdrant_path,
                collection=s.collection,
                timeout_s=s.qdrant_timeout_s,
                api_key=s.qdrant_api_key,
                avg_len=s.bm25_avg_len,
            )
            store.ensure_collection(dim=s.embed_dim, model=s.embed_model)
            self._store = store
        return self._store

    def forget(self) -> None:
        """Drop clients inherited across fork without closing the parent's connections."""
        self._redis = None
        self._embedder = None
        self._store = None
        self._guard = None
        self._spool = None
        self._renewer = None

    def close(self) -> None:
        """Close everything this process opened (and release local Qdrant's folder lock)."""
        if self._store is not None:
            self._store.close()
        if self._redis is not None:
            self._redis.close()
        if self._renewer is not None:
            self._renewer.stop()
        self.forget()
