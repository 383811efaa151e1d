"""The embedder as an embedding task sees it: spooled vectors first, then guarded calls.

Only the backend call holds a slot; parsing, building texts and points happen outside it, so
a slot is never idle while its holder does CPU work. A borrowed slot embeds a short prefix,
so one `embed` may take several calls. Vectors already computed are never thrown away: if a
later call or the hand-off fails, they go to the spool, and the retry reads them from there.
"""

from collections.abc import Sequence

from common.embedding.client import OllamaEmbedder
from common.protect.guard import EmbedGuard, Kind
from workers.spool import Spool


class GuardedEmbedder:
    """One task's embedder: `embed` once, then `keep` (on failure) or `forget` (on success)."""

    def __init__(
        self, embedder: OllamaEmbedder, guard: EmbedGuard, spool: Spool, *, kind: Kind,
        wait_s: float,
    ) -> None:  # fmt: skip
        self.model, self.dim = embedder.model, embedder.dim
        self._embedder, self._guard, self._spool = embedder, guard, spool
        self._kind, self._wait_s = kind, wait_s
        self._computed: dict[str, list[float]] = {}
        self._spooled: list[str] = []

    def embed(self, texts: Sequence[str], *, timeout_s: float | None = None) -> list[list[float]]:
        """Vectors for all texts: from the spool where kept, else from guarded backend calls."""
        vectors = self._spool.lookup(texts)
        self._spooled = [texts[i] for i in vectors]
        pending = [i for i in range(len(texts)) if i not in vectors]
        try:
            while pending:
                done = self._guard.call(
                    self._kind, [texts[i] for i in pending], self._call, wait_s=self._wait_s
                )
                for i, vector in zip(pending, done, strict=False):
                    vectors[i] = self._computed[texts[i]] = vector
                pending = pending[len(done) :]
        except BaseException:
            self.keep()
            raise
        return [vectors[i] for i in range(len(texts))]

    def _call(self, texts: Sequence[str], timeout_s: float) -> list[list[float]]:
        return self._embedder.embed(texts, timeout_s=timeout_s)

    def keep(self) -> None:
        """Spool what this task computed: its items will run again and must not re-embed."""
        if self._computed:
            self._spool.keep(list(self._computed), list(self._computed.values()))

    def forget(self) -> None:
        """The points are with the store: drop what was read from the spool."""
        if self._spooled:
            self._spool.forget(self._spooled)
