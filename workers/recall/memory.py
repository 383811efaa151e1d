"""What recall reads the store through: a Protocol of a few queries, one adapter (Qdrant).

Every query is bounded by a cap the caller passes, so one recall never reads the whole store;
the adapter is `workers.qdrant.memory.QdrantMemory`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from common.points import Fusion, Kind


@dataclass(frozen=True)
class Record:
    """One stored point: its id, payload (without the kind) and, when ranked, its score."""

    id: str
    payload: dict[str, Any]
    score: float = 0.0


@dataclass(frozen=True)
class Like:
    """What to rank against: a stored point's own vectors (no embedding), or a text with its
    embedding, fused by `fusion` as `/v1/search` fuses them."""

    point_id: str | None = None
    text: str = ""
    vector: list[float] | None = None
    fusion: Fusion = "boost"


@dataclass(frozen=True)
class Names:
    """Alerts of one alertname, in one namespace or (None) in any."""

    alertname: str
    namespace: str | None = None


class Memory(Protocol):
    """The store's read side. Times are RFC 3339 strings; `since` bounds by start time."""

    def point(self, point_id: str) -> Record | None:
        """The stored alert point with this id, or None."""

    def alerts(
        self,
        *,
        fingerprint: str | None = None,
        names: Sequence[Names] = (),
        since: str | None = None,
        cap: int,
    ) -> list[Record]:
        """Alert points with this fingerprint or any of these names, up to `cap`."""

    def started_between(self, start: str, end: str, *, cap: int) -> list[Record]:
        """Alert points that started in [start, end], up to `cap`."""

    def best_of_groups(
        self,
        like: Like,
        *,
        kind: Kind,
        group_by: str,
        groups: int,
        exclude: Sequence[str] = (),
        namespace: str | None = None,
        since: str | None = None,
    ) -> list[Record]:
        """The best point of each of the `groups` best groups (by a payload field), best first.

        `exclude` are point ids left out; `namespace` keeps alerts of one namespace only.
        """

    def chunks(self, conversation_ids: Sequence[str], *, cap: int) -> list[Record]:
        """The chat points of these conversations, up to `cap`, in no particular order."""
