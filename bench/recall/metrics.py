"""recall@k and MRR@10 of ranked items against a question's relevant ones.

recall@k is the share of the relevant items found in the first k, out of at most k (BEIR's
capped recall): a question with three relevant items can still score 1.0 at k = 1 when its
first answer is relevant, and needs all three within the first five for recall@5 = 1.0.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import fmean

MRR_DEPTH = 10


@dataclass(frozen=True)
class Score:
    """recall@1, recall@5 and MRR@10 of one question, or the mean of several."""

    recall_1: float
    recall_5: float
    mrr_10: float


def recall_at(ranked: Sequence[str], relevant: frozenset[str], k: int) -> float:
    """Relevant items in the first k, over min(k, how many are relevant)."""
    return len(relevant.intersection(ranked[:k])) / min(k, len(relevant))


def reciprocal_rank(ranked: Sequence[str], relevant: frozenset[str]) -> float:
    """1 / rank of the first relevant item within MRR_DEPTH; 0 when none is."""
    for rank, item in enumerate(ranked[:MRR_DEPTH], start=1):
        if item in relevant:
            return 1.0 / rank
    return 0.0


def score(ranked: Sequence[str], relevant: Iterable[str]) -> Score:
    """The three figures of one question."""
    wanted = frozenset(relevant)
    return Score(
        recall_at(ranked, wanted, 1), recall_at(ranked, wanted, 5), reciprocal_rank(ranked, wanted)
    )


def mean(scores: Sequence[Score]) -> Score:
    """The mean of each figure over questions."""
    return Score(
        fmean(s.recall_1 for s in scores),
        fmean(s.recall_5 for s in scores),
        fmean(s.mrr_10 for s in scores),
    )
