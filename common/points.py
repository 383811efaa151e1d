"""What the store holds: a point per embedded item, and a search hit."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Kind = Literal["alert", "chat"]
# How a search ranks: both retrievers fused (the default), the embedding alone, or BM25 alone.
SearchMode = Literal["hybrid", "dense", "sparse"]
# How hybrid search fuses them (see workers/qdrant/query.py): identifier boost over the dense
# ranking, dense re-sort of an RRF pool, plain reciprocal rank fusion, distribution-based.
Fusion = Literal["boost", "rerank", "rrf", "dbsf"]
FUSIONS: tuple[Fusion, ...] = ("boost", "rerank", "rrf", "dbsf")


class SparseVector(BaseModel):
    """A BM25 sparse vector (`common.sparse`): token ids, sorted and distinct, and weights."""

    model_config = ConfigDict(frozen=True)

    indices: list[int]
    values: list[float]


class Point(BaseModel):
    """One embedded item; `id` is a uuid5 of its dedup key, so a re-store overwrites.

    `sparse` is its BM25 vector; None only in points queued by a release before hybrid
    search, which the store computes from the payload.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    kind: Kind
    vector: list[float]
    payload: dict[str, Any]
    sparse: SparseVector | None = None


class Hit(BaseModel):
    """One ranked search match with its stored payload."""

    id: str
    score: float
    kind: Kind
    payload: dict[str, Any]


class SearchQuery(BaseModel):
    """What the store is asked: the query text (for BM25) and its embedding (None in sparse)."""

    model_config = ConfigDict(frozen=True)

    text: str = ""
    vector: list[float] | None = None
    mode: SearchMode = "hybrid"
    fusion: Fusion = "boost"
