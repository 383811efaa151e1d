"""The development embedder with a per-call delay, counting each soak alert's embeddings.

DevEmbedder keeps only its last 10,000 texts; this subclass counts every successful
embedding of every soak alert (by the `soak_seq` label in its text), so a long run stays
exact. Document calls sleep a random delay first, so tasks are running and others wait in
prefetch when Redis goes away; search queries (the benchmark's own reads) are answered at once.
"""

import random
import threading
import time
from collections import Counter

from bench.soak.params import Span
from bench.soak.traffic import SEQ_IN_TEXT
from common.embedding.devembedder import DevEmbedder


class SoakEmbedder(DevEmbedder):
    """A DevEmbedder with a random delay per document call and per-alert embedding counts."""

    def __init__(self, *, delay_s: Span, seed: int, query_prefix: str) -> None:
        super().__init__()
        self._delay_s = delay_s
        self._rng = random.Random(seed)
        self._query_prefix = query_prefix
        self._meter = threading.Lock()
        self._embedded: Counter[int] = Counter()
        self._first_at: dict[int, float] = {}
        self._documents_in_flight = 0

    def metered_embed(
        self, model: str, texts: list[str], dim: int, num_thread: int | None = None
    ) -> list[list[float]]:
        if texts and all(t.startswith(self._query_prefix) for t in texts):
            return super().metered_embed(model, texts, dim, num_thread)
        with self._meter:
            self._documents_in_flight += 1
            delay_s = self._rng.uniform(*self._delay_s)
        try:
            time.sleep(delay_s)
            vectors = super().metered_embed(model, texts, dim, num_thread)
        finally:
            with self._meter:
                self._documents_in_flight -= 1
        self._count(texts)
        return vectors

    def _count(self, texts: list[str]) -> None:
        now = time.monotonic()
        with self._meter:
            for text in texts:
                if match := SEQ_IN_TEXT.search(text):
                    seq = int(match.group(1))
                    self._embedded[seq] += 1
                    self._first_at.setdefault(seq, now)

    def documents_in_flight(self) -> int:
        """Document calls sleeping or embedding right now."""
        with self._meter:
            return self._documents_in_flight

    def embedded(self) -> Counter[int]:
        """How many times each soak alert was embedded (successful calls only)."""
        with self._meter:
            return Counter(self._embedded)

    def first_embedded_at(self) -> dict[int, float]:
        """When each soak alert was first embedded (monotonic seconds)."""
        with self._meter:
            return dict(self._first_at)
