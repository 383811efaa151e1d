"""A bounded node-local spool of vectors computed but not yet handed to the store.

An embedding is the expensive step. When what follows it fails (Redis down for longer than
a task waits, or a call shed halfway through a batch), the vectors are written here, keyed by
a hash of the model and the exact text, and the task that runs the items again (a retry, a
replay, a redelivery on this node) reads them instead of embedding again: one item, one
embedding, even across a long Redis outage. Files are written atomically (rename), so every
worker process of the node shares the spool; it is bounded by size and age.
"""

import hashlib
import logging
import os
import time
from array import array
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)


class Spool:
    """Vectors by (model, text); best effort: a spool that cannot be written is not an error."""

    def __init__(self, root: Path, *, model: str, max_bytes: int, ttl_s: float) -> None:
        self.root = root
        self._model = model
        self._max_bytes = max_bytes
        self._ttl_s = ttl_s

    def _path(self, text: str) -> Path:
        digest = hashlib.sha256(f"{self._model}\x00{text}".encode()).hexdigest()
        return self.root / digest[:2] / digest

    def lookup(self, texts: Sequence[str]) -> dict[int, list[float]]:
        """The spooled vectors of these texts, by position."""
        if not self.root.is_dir():
            return {}
        found: dict[int, list[float]] = {}
        for i, text in enumerate(texts):
            try:
                found[i] = array("f", self._path(text).read_bytes()).tolist()
            except (OSError, ValueError):
                continue
        return found

    def forget(self, texts: Sequence[str]) -> None:
        """Drop the entries of texts whose points are now with the store."""
        if self.root.is_dir():
            for text in texts:
                self._path(text).unlink(missing_ok=True)

    def keep(self, texts: Sequence[str], vectors: Sequence[Sequence[float]]) -> int:
        """Write vectors for their texts; returns how many were written."""
        written = 0
        for text, vector in zip(texts, vectors, strict=True):
            try:
                self._write(self._path(text), array("f", vector).tobytes())
                written += 1
            except OSError as exc:
                log.warning("spool %s not writable, vectors not kept: %s", self.root, exc)
                break
        if written:
            self.prune()
        return written

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_bytes(data)
        partial.replace(path)

    def prune(self, *, now: float | None = None) -> int:
        """Drop entries past their age, then the oldest while over the size bound."""
        now = now or time.time()
        entries = []
        for path in self.root.glob("*/*"):
            try:
                stat = path.stat()
            except OSError:
                continue
            entries.append((stat.st_mtime, stat.st_size, path))
        entries.sort()
        total = sum(size for _, size, _ in entries)
        dropped = 0
        for mtime, size, path in entries:
            if now - mtime < self._ttl_s and total <= self._max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            dropped += 1
        return dropped
