"""Recall's read side over Qdrant (`workers.recall.memory.Memory`): scrolls by payload filter,
and grouped rankings (`query_points_groups`) by a stored point's own vectors or a text's.

Identity and time live in the payload (`alertname`, `labels.namespace`, `fingerprint`,
`startsAt`, `created_at`, `conversation_id`); the workload is told apart by the caller, from
the labels, so no payload field needs adding. Every call goes through the store's lock.
"""

import uuid
from collections.abc import Sequence
from typing import Any

from qdrant_client import models

from common.points import Kind, SearchQuery
from workers.qdrant.collection import SPARSE
from workers.qdrant.query import RRF_K, query_args
from workers.qdrant.store import KIND_KEY, QdrantStore
from workers.recall.memory import Like, Names, Record

# Candidates each ranking leg hands to the grouping: enough for `groups` distinct groups
# even when one alert's many occurrences rank together.
POOL = 200
# The payload field a point's time lives in, per kind: what `since` bounds.
_TIME_KEY: dict[Kind, str] = {"alert": "startsAt", "chat": "created_at"}


class QdrantMemory:
    """The Memory protocol on a QdrantStore's client and collection."""

    def __init__(self, store: QdrantStore) -> None:
        self._store = store

    def point(self, point_id: str) -> Record | None:
        """The stored alert point with this id, or None (also for an id that is no uuid)."""
        try:
            pid = str(uuid.UUID(point_id))
        except ValueError:
            return None
        with self._store.reading() as (client, collection):
            found = client.retrieve(collection, ids=[pid], with_payload=True, with_vectors=False)
        records = [_record(p) for p in found if (p.payload or {}).get(KIND_KEY) == "alert"]
        return records[0] if records else None

    def alerts(
        self,
        *,
        fingerprint: str | None = None,
        names: Sequence[Names] = (),
        since: str | None = None,
        cap: int,
    ) -> list[Record]:
        """Alert points with this fingerprint or any of these names, up to `cap`."""
        should: list[models.Condition] = [_match("fingerprint", fingerprint)] if fingerprint else []
        should += [_named(n) for n in names]
        if not should:
            return []
        return self._scroll(models.Filter(must=_where("alert", since), should=should), cap)

    def started_between(self, start: str, end: str, *, cap: int) -> list[Record]:
        """Alert points that started in [start, end], up to `cap`."""
        window = models.FieldCondition(
            key="startsAt", range=models.DatetimeRange(gte=start, lte=end)
        )
        return self._scroll(models.Filter(must=[*_where("alert", None), window]), cap)

    def best_of_groups(
        self,
        like: Like,
        *,
        kind: Kind,
        group_by: str,
        groups: int,
        exclude: Sequence[str] = (),
        namespace: str | None = None,
        since: str | None = None,
    ) -> list[Record]:
        """The best point of each of the `groups` best groups (by a payload field), best first."""
        must = _where(kind, since)
        if namespace is not None:
            must.append(_match("labels.namespace", namespace))
        must_not: list[models.Condition] = [models.HasIdCondition(has_id=list(exclude))]
        where = models.Filter(must=must, must_not=must_not if exclude else None)
        with self._store.reading() as (client, collection):
            response = client.query_points_groups(
                collection, group_by=group_by, query_filter=where, limit=groups, group_size=1,
                with_payload=True, with_vectors=False, **_ranking(like),
            )  # fmt: skip
        return [_record(group.hits[0]) for group in response.groups if group.hits]

    def chunks(self, conversation_ids: Sequence[str], *, cap: int) -> list[Record]:
        """The chat points of these conversations, up to `cap`."""
        if not conversation_ids:
            return []
        of = models.FieldCondition(
            key="conversation_id", match=models.MatchAny(any=list(conversation_ids))
        )
        return self._scroll(models.Filter(must=[*_where("chat", None), of]), cap)

    def _scroll(self, where: models.Filter, cap: int) -> list[Record]:
        """Up to `cap` points matching the filter, a page at a time."""
        records: list[Record] = []
        offset: Any = None
        while len(records) < cap:
            with self._store.reading() as (client, collection):
                page, offset = client.scroll(
                    collection, scroll_filter=where, limit=min(256, cap - len(records)),
                    offset=offset, with_payload=True, with_vectors=False,
                )  # fmt: skip
            records += [_record(p) for p in page]
            if offset is None:
                break
        return records


def _ranking(like: Like) -> dict[str, Any]:
    """The query arguments: a stored point's neighbours by its own vectors, or a search's.

    A stored point's: an RRF pool of its dense and BM25 neighbours, re-sorted by dense
    similarity (as the `rerank` fusion does), so each score is a cosine an SRE can read.
    """
    if like.point_id is not None:
        legs = [
            models.Prefetch(query=like.point_id, limit=POOL),
            models.Prefetch(query=like.point_id, using=SPARSE, limit=POOL),
        ]
        rrf = models.RrfQuery(rrf=models.Rrf(k=RRF_K))
        return {"prefetch": [models.Prefetch(prefetch=legs, query=rrf, limit=POOL)],
                "query": like.point_id}  # fmt: skip
    mode = "hybrid" if like.vector is not None else "sparse"
    query = SearchQuery(text=like.text, vector=like.vector, mode=mode, fusion=like.fusion)
    return query_args(query, limit=POOL)


def _match(key: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def _named(names: Names) -> models.Filter:
    must = [_match("alertname", names.alertname)]
    if names.namespace is not None:
        must.append(_match("labels.namespace", names.namespace))
    return models.Filter(must=must)


def _where(kind: Kind, since: str | None) -> list[models.Condition]:
    """The kind, and the time bound when one is asked."""
    must: list[models.Condition] = [_match(KIND_KEY, kind)]
    if since is not None:
        after = models.DatetimeRange(gte=since)
        must.append(models.FieldCondition(key=_TIME_KEY[kind], range=after))
    return must


def _record(point: models.Record | models.ScoredPoint) -> Record:
    payload = dict(point.payload or {})
    payload.pop(KIND_KEY, None)
    return Record(str(point.id), payload, float(getattr(point, "score", 0.0) or 0.0))
