"""BM25 sparse vectors computed in-process, no model: Qdrant's recipe, IDF left to Qdrant.

Lower-case, split on non-word characters, token id = abs of the signed 32-bit murmur3 hash
(what Qdrant's own BM25 uses, so ids agree with any other client of the collection), plus the
whole identifiers of `common.identifiers` as extra tokens. A document's weight per token is
the BM25 term-frequency part, tf * (k + 1) / (tf + k * (1 - b + b * len / avg_len)); a query
weighs each distinct token 1. The collection's sparse vector is configured with
`Modifier.IDF`, so Qdrant multiplies in the IDF from its own live statistics, in local mode and
on a server alike: nothing here needs to know the corpus, and reindexing is never needed
because the corpus grew.
"""

import re
from collections import Counter
from collections.abc import Iterable

import mmh3

from common.identifiers import extra_tokens, pasted
from common.points import SparseVector

K1 = 1.2
B = 0.75
# Alerts run 50-80 tokens, chat chunks up to some 350 (CORTEX_BM25_AVG_LEN).
DEFAULT_AVG_LEN = 100.0
_WORD = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    """Every token of a text, repeats kept: its words, then its whole identifiers."""
    return _WORD.findall(text.lower()) + extra_tokens(text)


def token_id(token: str) -> int:
    """The sparse index of a token: abs of its signed 32-bit murmur3 hash (seed 0)."""
    return abs(mmh3.hash(token))


def document_weights(tfs: Iterable[int], *, length: int, avg_len: float) -> list[float]:
    """BM25's term-frequency part for each term frequency of a document of `length` tokens."""
    norm = K1 * (1 - B + B * length / avg_len)
    return [tf * (K1 + 1) / (tf + norm) for tf in tfs]


def document_vector(text: str, *, avg_len: float) -> SparseVector:
    """The stored sparse vector of a document (indices sorted, each once)."""
    all_tokens = tokens(text)
    # Two tokens hashing alike share one index, as they would in Qdrant's own BM25.
    counts = sorted(Counter(map(token_id, all_tokens)).items())
    weights = document_weights((tf for _, tf in counts), length=len(all_tokens), avg_len=avg_len)
    return SparseVector(indices=[i for i, _ in counts], values=weights)


def query_vector(text: str) -> SparseVector:
    """A query's sparse vector: weight 1 for each distinct token; Qdrant applies the IDF."""
    indices = sorted(set(map(token_id, tokens(text))))
    return SparseVector(indices=indices, values=[1.0] * len(indices))


def pasted_vector(text: str) -> SparseVector:
    """The identifiers a query pastes as a sparse query; empty for a plain question."""
    indices = sorted(set(map(token_id, pasted(text))))
    return SparseVector(indices=indices, values=[1.0] * len(indices))
