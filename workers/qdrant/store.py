"""Point I/O over one collection: the Qdrant adapter of the VectorStore protocol."""

import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from qdrant_client import QdrantClient, models

from common import sparse
from common.errors import ConfigurationError, PermanentError
from common.points import Hit, Kind, Point, SearchQuery
from common.text import document_text
from workers.qdrant import errors
from workers.qdrant.collection import (
    SPARSE,
    check_recorded,
    create_collection,
    reindex_name,
    unfinished_reindex,
    vector_size,
)
from workers.qdrant.query import query_args

BATCH_SIZE = 256
KIND_KEY = "kind"
MESSAGE_KEY = "message_key"
HASH_KEY = "content_hash"


class QdrantStore:
    """VectorStore over one Qdrant collection; every client call is serialised by one lock.

    The model and dim a collection was built with live in the collection's own metadata,
    written atomically with its creation (`workers.qdrant.collection`). `avg_len` is BM25's
    (`common.sparse`), for points queued without a sparse vector by an older release.
    """

    def __init__(
        self, client: QdrantClient, *, collection: str, local: bool,
        avg_len: float = sparse.DEFAULT_AVG_LEN,
    ) -> None:  # fmt: skip
        """Wrap an open client; `local` says it is qdrant-client's local (on-disk) mode."""
        self._client = client
        self._collection = collection
        self._local = local
        self._avg_len = avg_len
        # Local mode is not thread-safe (it loses points under concurrent upserts), so all
        # calls, reads included, go through this lock; on a server it only costs parallelism.
        self._lock = threading.Lock()
        self._dim: int | None = None

    def ensure_collection(self, *, dim: int, model: str) -> None:
        """Create the collection if missing (idempotent, race-tolerant); check its model and dim."""
        with self._guard():
            if self._client.collection_exists(reindex_name(self._collection)):
                raise unfinished_reindex(self._collection)
            if not self._client.collection_exists(self._collection):
                create_collection(self._client, self._collection, dim=dim, model=model)
            info = self._client.get_collection(self._collection)
            if not self._local:
                # Idempotent on a server; local mode ignores payload indexes and warns.
                for field in (KIND_KEY, MESSAGE_KEY):
                    self._client.create_payload_index(
                        self._collection, field, models.PayloadSchemaType.KEYWORD, wait=True
                    )
        check_recorded(info, self._collection, dim=dim, model=model)
        self._dim = dim

    def upsert(self, points: Sequence[Point]) -> int:
        """Write points (same id overwrites) in batches; return how many ids were new.

        The whole call is validated before anything is written. "New" is exact for callers
        sharing this store; two processes writing one id to a server may both count it.
        """
        structs = self._to_structs(points)
        new = 0
        with self._guard():
            for start in range(0, len(structs), BATCH_SIZE):
                new += self._upsert_batch(structs[start : start + BATCH_SIZE])
        return new

    def set_payload(self, point_id: str, payload: dict[str, Any]) -> bool:
        """Merge payload fields into an existing point; False (nothing written) when missing."""
        if KIND_KEY in payload:
            raise PermanentError(f"payload key {KIND_KEY!r} is reserved: a point's kind is fixed")
        pid = _point_id(point_id)
        with self._guard():
            if not self._existing_ids([pid]):
                return False
            self._client.set_payload(self._collection, payload=payload, points=[pid], wait=True)
        return True

    def search(
        self, query: SearchQuery, *, kind: Kind | None, limit: int, since: str | None = None
    ) -> list[Hit]:
        """Return up to `limit` best points, optionally of one kind and from `since`, best first.

        One `query_points` call (`workers.qdrant.query`): dense, BM25, or both fused. The
        stored `kind` field becomes `Hit.kind` and is removed from `Hit.payload`, so the
        payload is exactly what the caller stored.
        """
        if query.mode == "sparse" and not sparse.query_vector(query.text).indices:
            return []  # no word to look up
        with self._guard():
            response = self._client.query_points(
                self._collection,
                **query_args(query, limit=limit),
                query_filter=_search_filter(kind, since),
                limit=limit,
                with_payload=True,
                with_vectors=False,
            )
        return [_to_hit(point) for point in response.points]

    def delete_other_versions(self, versions: Mapping[str, str]) -> int:
        """Delete chunks of these messages whose content hash is not the given one."""
        stale = models.Filter(
            should=[
                models.Filter(
                    must=[_match(MESSAGE_KEY, key)], must_not=[_match(HASH_KEY, content_hash)]
                )
                for key, content_hash in versions.items()
            ]
        )
        with self._guard():
            found = self._client.count(self._collection, count_filter=stale, exact=True).count
            if found:
                self._client.delete(self._collection, points_selector=stale, wait=True)
        return int(found)

    def count(self, kind: Kind) -> int:
        """Return the exact number of stored points of a kind."""
        with self._guard():
            result = self._client.count(
                self._collection, count_filter=_kind_filter(kind), exact=True
            )
        return int(result.count)

    @contextmanager
    def reading(self) -> Iterator[tuple[QdrantClient, str]]:
        """The client and collection name under the store's lock, for read-only queries
        beside point I/O (recall: `workers.qdrant.memory`); errors translated as here."""
        with self._guard():
            yield self._client, self._collection

    def close(self) -> None:
        """Close the client, releasing local mode's folder lock."""
        with self._guard():
            self._client.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Hold the lock and translate the client's exceptions into the cortex hierarchy."""
        with self._lock:
            try:
                yield
            except (*errors.BACKEND_ERRORS, *errors.BAD_INPUT_ERRORS) as exc:
                raise errors.translate(exc) from exc

    def _collection_dim(self) -> int:
        """Return the collection's vector size, asking Qdrant once if ensure_collection did not."""
        if self._dim is None:
            with self._guard():
                info = self._client.get_collection(self._collection)
            size = vector_size(info)
            if size is None:
                raise ConfigurationError(
                    f"Qdrant collection {self._collection!r} has named vectors, not one vector"
                )
            self._dim = size
        return self._dim

    def _to_structs(self, points: Sequence[Point]) -> list[models.PointStruct]:
        """Validate every point (id, vector length) and convert; raises before any write."""
        if not points:
            return []
        dim = self._collection_dim()
        for point in points:
            if len(point.vector) != dim:
                raise PermanentError(
                    f"point {point.id}: vector has {len(point.vector)} dims, collection {dim}"
                )
        return [
            models.PointStruct(
                id=_point_id(point.id),
                vector={"": point.vector, SPARSE: self._sparse_of(point)},
                payload={**point.payload, KIND_KEY: point.kind},
            )
            for point in points
        ]

    def _sparse_of(self, point: Point) -> models.SparseVector:
        """The point's BM25 vector; computed from its payload if an older release queued it."""
        bm25 = point.sparse or sparse.document_vector(
            document_text(point.kind, point.payload), avg_len=self._avg_len
        )
        return models.SparseVector(indices=bm25.indices, values=bm25.values)

    def _upsert_batch(self, batch: list[models.PointStruct]) -> int:
        """Upsert one batch (caller holds the lock) and return how many of its ids were new."""
        ids = {str(struct.id) for struct in batch}
        new = len(ids - self._existing_ids(list(ids)))
        self._client.upsert(self._collection, points=batch, wait=True)
        return new

    def _existing_ids(self, ids: list[str]) -> set[str]:
        """Return which of these ids are stored (caller holds the lock)."""
        found = self._client.retrieve(
            self._collection, ids=ids, with_payload=False, with_vectors=False
        )
        return {str(record.id) for record in found}


def _point_id(point_id: str) -> str:
    """Return the canonical uuid form Qdrant stores; PermanentError if it is not a uuid."""
    try:
        return str(uuid.UUID(point_id))
    except ValueError as exc:
        raise PermanentError(f"point id {point_id!r} is not a uuid") from exc


def _match(key: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def _kind_filter(kind: Kind | None) -> models.Filter | None:
    """Return a filter matching one kind, or None for all."""
    return None if kind is None else models.Filter(must=[_match(KIND_KEY, kind)])


def _search_filter(kind: Kind | None, since: str | None) -> models.Filter | None:
    """The kind, and from `since` on: an alert by its start, a chat message by its time."""
    if since is None:
        return _kind_filter(kind)
    after = models.DatetimeRange(gte=since)
    # A point has one of the two fields: the range on the other one is false for it.
    times = [models.FieldCondition(key=key, range=after) for key in ("startsAt", "created_at")]
    kinds = [] if kind is None else [_match(KIND_KEY, kind)]
    return models.Filter(must=kinds, should=times)


def _to_hit(point: models.ScoredPoint) -> Hit:
    """Convert a scored point; its `kind` moves from the payload to Hit.kind."""
    payload = dict(point.payload or {})
    kind = payload.pop(KIND_KEY)
    return Hit(id=str(point.id), score=point.score, kind=kind, payload=payload)
