"""What the scenario needs from a receiver under test, naive or cluster-cortex."""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Stored:
    """What a receiver has stored; keys when it can tell them, else counts only."""

    alerts: int
    chats: int
    alert_keys: frozenset[tuple[str, str]] | None = None
    chat_keys: frozenset[tuple[str, str]] | None = None

    def holds(self, alerts: set[tuple[str, str]], chats: set[tuple[str, str]]) -> bool:
        """True when everything accepted is stored (by key when known, else by count)."""
        if self.alert_keys is not None and self.chat_keys is not None:
            return alerts <= self.alert_keys and chats <= self.chat_keys
        return self.alerts >= len(alerts) and self.chats >= len(chats)


class Receiver(Protocol):
    """A webhook and chat receiver that embeds through the simulated node."""

    name: str

    @property
    def alerts_url(self) -> str:
        """Where Alertmanager posts."""

    @property
    def chats_url(self) -> str:
        """Where the chat job posts."""

    def start(self, embed_url: str) -> None:
        """Start serving, embedding through the node at `embed_url`."""

    def stored(self) -> Stored:
        """What is stored now."""

    def details(self) -> dict[str, str]:
        """Receiver-specific rows for the report (queues, parked, breaker, ...)."""

    def decisions(self) -> dict[str, float]:
        """Counters of the receiver's own decisions (sheds, breaker transitions), if any."""

    def stop(self) -> None:
        """Stop everything it started."""
