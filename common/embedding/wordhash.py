"""Deterministic word-hash vectors: texts that share words or spellings land close together.

What the development embedder answers with. No semantic understanding at all (synonyms and
paraphrases are unrelated): a test double, never a model.
"""

import hashlib
import math
import re
from functools import lru_cache

MAX_DIM = 65536
_WORD = re.compile(r"\w+")
# Trigrams of a word share half its weight, so a near-spelling is close but a shared word wins.
_TRIGRAM_SHARE = 0.5


def _bucket(key: bytes, dim: int) -> tuple[int, float]:
    """Map a feature to a bucket index and a sign, stably across processes."""
    value = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
    return (value >> 1) % dim, 1.0 if value & 1 else -1.0


@lru_cache(maxsize=16384)
def _features(word: str, dim: int) -> tuple[tuple[int, float], ...]:
    """The weighted buckets of one lowercase word: the word itself plus its padded trigrams."""
    index, sign = _bucket(b"w:" + word.encode(), dim)
    padded = f"<{word}>"
    trigrams = [padded[i : i + 3] for i in range(len(padded) - 2)]
    weight = math.sqrt(_TRIGRAM_SHARE / len(trigrams))
    grams = (_bucket(b"t:" + gram.encode(), dim) for gram in trigrams)
    return ((index, sign), *((i, s * weight) for i, s in grams))


def tokens(text: str) -> list[str]:
    """Lowercase word tokens, unicode aware."""
    return _WORD.findall(text.lower())


def embed_text(text: str, dim: int) -> list[float]:
    """Return a deterministic unit vector of `dim` floats; texts sharing words land close."""
    if not 1 <= dim <= MAX_DIM:
        raise ValueError(f"dim must be in 1..{MAX_DIM}, got {dim}")
    vector = [0.0] * dim
    words = tokens(text)
    if not words:
        index, sign = _bucket(b"no-tokens", dim)
        vector[index] = sign
        return vector
    for word in words:
        for index, weight in _features(word, dim):
            vector[index] += weight
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0.0:  # every feature cancelled out by sign collisions: vanishingly rare
        return embed_text("", dim)
    return [x / norm for x in vector]
