"""The vector store as a Protocol: one real adapter (Qdrant), more are one module each."""

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from common.points import Hit, Kind, Point, SearchQuery


class VectorStore(Protocol):
    """Where embedded items live. Every method may raise TransientError or PermanentError."""

    def ensure_collection(self, *, dim: int, model: str) -> None:
        """Create the collection if missing; ConfigurationError if it holds another model."""

    def upsert(self, points: Sequence[Point]) -> int:
        """Write points (overwriting same ids) and return how many ids were new."""

    def set_payload(self, point_id: str, payload: dict[str, Any]) -> bool:
        """Merge payload fields into an existing point; False when the point does not exist."""

    def search(
        self, query: SearchQuery, *, kind: Kind | None, limit: int, since: str | None = None
    ) -> list[Hit]:
        """Return up to `limit` best points (dense, BM25 or both), optionally of one kind, and
        from `since` (RFC 3339: an alert's start, a chat message's time) when given."""

    def delete_other_versions(self, versions: Mapping[str, str]) -> int:
        """Delete points of these messages (message key -> content hash) of other versions.

        Returns how many were deleted.
        """

    def count(self, kind: Kind) -> int:
        """Return the exact number of stored points of a kind."""

    def close(self) -> None:
        """Release the client (and local mode's folder lock)."""
