"""One `query_points` call per search: dense, BM25, or both as prefetches fused by one strategy.

Measured on a 43-question homelab set, equal-weight RRF of a small dense model and BM25 lost to
the dense model alone on paraphrases (recall@5 0.84 against 0.97) while BM25 alone won on pasted
identifiers (recall@1 1.00 against 0.89). The fusions offered:

- `boost` (the default): the union of both retrievers' candidates ranked by the dense score,
  plus `BOOST` for a point holding any identifier the question pastes (`common.identifiers`),
  in one formula. A paraphrase pastes none and is ranked exactly as by the dense model; a
  pasted pod or PVC name puts the points holding it first, ordered by the dense score.
- `rerank`: an RRF pool of `pool` candidates re-sorted by the dense score (as RunLore does).
- `rrf`: reciprocal rank fusion, k = 60 (set: local mode's default k is 2).
- `dbsf`: distribution-based score fusion.
"""

from typing import Any

from qdrant_client import models

from common import sparse
from common.points import SearchQuery, SparseVector
from workers.qdrant.collection import SPARSE

POOL_MIN = 20
RRF_K = 60
# Dense cosine scores of two points differ by at most 2 (in practice well under 1): a boost
# of 2 puts every point holding a pasted identifier above every point that holds none.
BOOST = 2.0
_EPS = 1e-9


def query_args(query: SearchQuery, *, flt: models.Filter | None, limit: int) -> dict[str, Any]:
    """The `query_points` arguments (query, using, prefetch) for one search; filter on every leg."""
    pool = max(limit, POOL_MIN)
    if query.mode == "sparse":
        return {"query": _bm25(sparse.query_vector(query.text)), "using": SPARSE}
    vector = _dense_vector(query)
    if query.mode == "dense":
        return {"query": vector}
    legs = [
        models.Prefetch(query=vector, filter=flt, limit=pool),
        models.Prefetch(query=_bm25(sparse.query_vector(query.text)), using=SPARSE, filter=flt,
                        limit=pool),
    ]  # fmt: skip
    if query.fusion == "rrf":
        return {"prefetch": legs, "query": _rrf()}
    if query.fusion == "dbsf":
        return {"prefetch": legs, "query": models.FusionQuery(fusion=models.Fusion.DBSF)}
    if query.fusion == "rerank":
        fused = models.Prefetch(prefetch=legs, query=_rrf(), filter=flt, limit=pool)
        return {"prefetch": [fused], "query": vector}
    return _boost(query, vector, legs, flt=flt, pool=pool)


def _dense_vector(query: SearchQuery) -> list[float]:
    if query.vector is None:
        raise ValueError(f"a {query.mode} search needs the query's embedding")
    return query.vector


def _bm25(vector: SparseVector) -> models.SparseVector:
    return models.SparseVector(indices=vector.indices, values=vector.values)


def _rrf() -> models.RrfQuery:
    return models.RrfQuery(rrf=models.Rrf(k=RRF_K))


def _boost(
    query: SearchQuery, vector: list[float], legs: list[models.Prefetch], *,
    flt: models.Filter | None, pool: int,
) -> dict[str, Any]:  # fmt: skip
    """Dense ranking of both legs' candidates; points holding a pasted identifier get BOOST."""
    pasted = _bm25(sparse.pasted_vector(query.text))
    if not pasted.indices:
        # Nothing pasted: the union ranked by the dense score is the dense ranking itself.
        return {"prefetch": legs, "query": vector}
    exact = models.Prefetch(query=pasted, using=SPARSE, filter=flt, limit=pool)
    # Every candidate, the exact matches included, gets its dense score ($score[0]) here.
    union = models.Prefetch(prefetch=[*legs, exact], query=vector, filter=flt, limit=3 * pool)
    # $score[1] > 0 exactly for points holding a pasted token: s / (s + eps) is 1 for them.
    held = models.DivExpression(
        div=models.DivParams(left="$score[1]", right=models.SumExpression(sum=["$score[1]", _EPS]))
    )
    formula = models.SumExpression(sum=["$score[0]", models.MultExpression(mult=[BOOST, held])])
    return {
        "prefetch": [union, exact],
        "query": models.FormulaQuery(formula=formula, defaults={"$score[1]": 0.0}),
    }
