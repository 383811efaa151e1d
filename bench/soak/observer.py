"""Watching the store through the product: which alert was stored when, and how often.

The store worker owns Qdrant's folder, so "stored" is read through the gateway: a search for
a group's words (traffic.py) returns every stored alert of that group, each named by its
`soak_seq` label. A group with alerts answered 202 but not yet found is searched every
0.5 s while young, every second until 150 s, then every 5 s; between sweeps only when
`/v1/stats` counts more stored alerts than have been found. An alert's stored time is
bracketed: after the last search of its group that missed it, before the one that found it.
"""

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from bench.soak.stack import Stack
from bench.soak.traffic import GROUP_SIZE, SEQ_LABEL, Catalog, Delivery, Sender

SEARCH_LIMIT = 50  # CORTEX_SEARCH_MAX_LIMIT's default; a group of 20 leaves room for 30 others
_SWEEP_S = 5.0
_TICK_S = 0.5


@dataclass
class Found:
    """When an alert was first seen stored (monotonic bounds) and under which point ids."""

    lower: float
    upper: float
    ids: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Sample:
    """One `/v1/stats` reading."""

    at: float
    stored: int
    unacked: int
    queued_alerts: int
    queued_store: int
    parked: int
    dead: int


@dataclass
class SearchLog:
    """The instrument's own reads: searches made, failed (by answer) and badly ranked."""

    made: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    # A result where some other group's alert outranked one of this group's: the margin
    # the exact lookup relies on was not there.
    mixed: int = 0


class Observer:
    """Polls `/v1/stats` and searches pending groups in a thread; `sweep()` on demand."""

    def __init__(self, stack: Stack, sender: Sender, catalog: Catalog) -> None:
        self._stack, self._sender, self._catalog = stack, sender, catalog
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="soak-observer", daemon=True)
        self._found: dict[int, Found] = {}
        self._searched_at: dict[int, float] = {}
        self.samples: list[Sample] = []
        self.searches = SearchLog()

    def start(self) -> None:
        """Start watching; returns at once."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def found(self) -> dict[int, Found]:
        """Every alert seen stored so far, by sequence number."""
        with self._lock:
            return {seq: Found(f.lower, f.upper, set(f.ids)) for seq, f in self._found.items()}

    def sweep(self, *, every_group: bool = False) -> set[int]:
        """Search every pending group (or every group) now; the alerts answered 202, not found.

        A group whose search fails is tried once more; if it fails again, its alerts count
        as not found.
        """
        with self._lock:
            deliveries = self._sender.deliveries()
            groups = {d.seq // GROUP_SIZE for d in deliveries if d.accepted_at is not None}
            if not every_group:
                groups = set(self._pending(deliveries))
            by_seq = {d.seq: d for d in deliveries}
            for group in sorted(groups):
                if self._search(group, by_seq) is None:
                    self._search(group, by_seq)
            return {
                d.seq for d in deliveries if d.accepted_at is not None and d.seq not in self._found
            }

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                self._tick()
            self._stop.wait(_TICK_S)

    def _tick(self) -> None:
        now = time.monotonic()
        stats = self._stack.stats()
        unexplained = 0
        if stats:
            self.samples.append(_sample(now, stats))
            unexplained = self.samples[-1].stored - len(self._found)
        deliveries = self._sender.deliveries()
        by_seq = {d.seq: d for d in deliveries}
        for group, oldest in sorted(self._pending(deliveries).items()):
            since = now - self._searched_at.get(group, -math.inf)
            if since < _interval_s(now - oldest):
                continue
            if unexplained <= 0 and since < _SWEEP_S:
                continue
            unexplained -= self._search(group, by_seq) or 0

    def _pending(self, deliveries: list[Delivery]) -> dict[int, float]:
        """Groups with alerts answered 202 and not found yet: when the oldest was answered."""
        pending: dict[int, float] = {}
        for d in deliveries:
            if d.accepted_at is not None and d.seq not in self._found:
                group = d.seq // GROUP_SIZE
                pending[group] = min(pending.get(group, math.inf), d.accepted_at)
        return pending

    def _search(self, group: int, by_seq: dict[int, Delivery]) -> int | None:
        """Search one group; how many of its alerts were found for the first time, or None."""
        started = time.monotonic()
        hits = self._query(self._catalog.words(group))
        if hits is None:
            return None
        done = time.monotonic()
        previous = self._searched_at.get(group, -math.inf)
        self._searched_at[group] = started
        members = [(seq, hit) for seq, hit in _numbered(hits) if seq // GROUP_SIZE == group]
        self._check_ranking(hits, group)
        new = 0
        for seq, hit in members:
            if seq not in self._found:
                delivery = by_seq.get(seq)
                since = delivery.accepted_at or delivery.due_at if delivery else previous
                self._found[seq] = Found(lower=max(previous, since), upper=done)
                new += 1
            self._found[seq].ids.add(str(hit["id"]))
        return new

    def _query(self, words: str) -> list[dict[str, Any]] | None:
        self.searches.made += 1
        params: dict[str, str | int] = {"q": words, "kind": "alert", "limit": SEARCH_LIMIT}
        try:
            response = requests.get(self._stack.url + "/v1/search", params=params, timeout=20)
            outcome = str(response.status_code)
            if response.status_code == 200:
                hits: list[dict[str, Any]] = response.json()["results"]
                return hits
        except requests.RequestException as exc:
            outcome = type(exc).__name__
        self.searches.failed[outcome] = self.searches.failed.get(outcome, 0) + 1
        return None

    def _check_ranking(self, hits: list[dict[str, Any]], group: int) -> None:
        ranks = [seq // GROUP_SIZE == group for seq, _ in _numbered(hits)]
        if True in ranks and False in ranks[: max(i for i, m in enumerate(ranks) if m)]:
            self.searches.mixed += 1


def _interval_s(age_s: float) -> float:
    """How often a pending group is searched, by how long its oldest alert has waited."""
    return 0.5 if age_s < 10 else 1.0 if age_s < 150 else 5.0


def _numbered(hits: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Hits that are soak alerts, with their sequence numbers, in rank order."""
    numbered = []
    for hit in hits:
        label = hit.get("payload", {}).get("labels", {}).get(SEQ_LABEL)
        if isinstance(label, str) and label.isdigit():
            numbered.append((int(label), hit))
    return numbered


def _sample(at: float, stats: dict[str, Any]) -> Sample:
    queues = stats.get("queues", {})
    return Sample(
        at=at,
        stored=int(stats.get("stored", {}).get("alert", 0)),
        unacked=int(stats.get("in_flight", 0)),
        queued_alerts=int(queues.get("alerts", {}).get("depth", 0)),
        queued_store=int(queues.get("store", {}).get("depth", 0)),
        parked=int(stats.get("parked", 0)),
        dead=int(stats.get("dead_letters", 0)),
    )
