"""One `query_points` call per search: dense, BM25, or both as prefetches fused by one strategy.

Measured on a 43-question homelab set, equal-weight RRF of a small dense model and BM25 lost to
the dense model alone on paraphrases (recall@5 0.84 against 0.97) while BM25 alone won on pasted
identifiers (recall@1 1.00 against 0.89). The fusions offered:

- `boost` (the default): the dense ranking, plus `BOOST` for a point that BM25 finds holding an
  identifier the question pastes (`common.identifiers`), in one formula over the two legs. A
  paraphrase pastes none and is ranked exactly as by the dense model (and costs no BM25 scan);
  a pasted pod or PVC name puts the points holding it first, ordered by the dense score.
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
# How deep the dense leg of `boost` goes: holders of a pasted identifier found there are
# ordered by their dense score among themselves.
DENSE_POOL = 100
RRF_K = 60
# Dense cosine scores of two points differ by at most 2 (in practice well under 1): a boost
# of 2 puts every point holding a pasted identifier above every point that holds none.
BOOST = 2.0
_EPS = 1e-9


def query_args(query: SearchQuery, *, limit: int) -> dict[str, Any]:
    """The `query_points` arguments (query, using, prefetch) for one search.

    The call's filter (the kind) reaches every leg by itself: Qdrant, and local mode alike,
    propagate it down the prefetch tree, so a leg's limit counts filtered candidates.
    """
    pool = max(limit, POOL_MIN)
    if query.mode == "sparse":
        return {"query": _bm25(sparse.query_vector(query.text)), "using": SPARSE}
    vector = _dense_vector(query)
    if query.mode == "dense":
        return {"query": vector}
    if query.fusion == "boost":
        return _boost(query, vector, pool=pool)
    legs = [
        models.Prefetch(query=vector, limit=pool),
        models.Prefetch(query=_bm25(sparse.query_vector(query.text)), using=SPARSE, limit=pool),
    ]
    if query.fusion == "dbsf":
        return {"prefetch": legs, "query": models.FusionQuery(fusion=models.Fusion.DBSF)}
    if query.fusion == "rerank":
        fused = models.Prefetch(prefetch=legs, query=_rrf(), limit=pool)
        return {"prefetch": [fused], "query": vector}
    return {"prefetch": legs, "query": _rrf()}


def _dense_vector(query: SearchQuery) -> list[float]:
    if query.vector is None:
        raise ValueError(f"a {query.mode} search needs the query's embedding")
    return query.vector


def _bm25(vector: SparseVector) -> models.SparseVector:
    return models.SparseVector(indices=vector.indices, values=vector.values)


def _rrf() -> models.RrfQuery:
    return models.RrfQuery(rrf=models.Rrf(k=RRF_K))


def _boost(query: SearchQuery, vector: list[float], *, pool: int) -> dict[str, Any]:
    """The dense ranking, with points holding an identifier the question pastes first.

    BM25's full leg is left out: its candidates are ranked by their dense score here, below
    the dense leg's own, so they could never reach the results. A question pasting nothing
    is the dense query itself, and costs no sparse scan.
    """
    pasted = _bm25(sparse.pasted_vector(query.text))
    if not pasted.indices:
        return {"query": vector}
    dense = models.Prefetch(query=vector, limit=max(pool, DENSE_POOL))
    exact = models.Prefetch(query=pasted, using=SPARSE, limit=pool)
    # $score[1] > 0 exactly for points holding a pasted token: s / (s + eps) is 1 for them. A
    # holder beyond the dense leg's pool counts 0 for its dense score, and is still boosted.
    held = models.DivExpression(
        div=models.DivParams(left="$score[1]", right=models.SumExpression(sum=["$score[1]", _EPS]))
    )
    formula = models.SumExpression(sum=["$score[0]", models.MultExpression(mult=[BOOST, held])])
    defaults = {"$score[0]": 0.0, "$score[1]": 0.0}
    return {
        "prefetch": [dense, exact],
        "query": models.FormulaQuery(formula=formula, defaults=defaults),
    }
