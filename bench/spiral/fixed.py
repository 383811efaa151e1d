"""The fixed-concurrency baseline: k `/api/embed` calls at once, nothing else clever.

It answers every post at once and queues what it carries; k threads each take the oldest
queued request (alert notifications before chat batches) and embed it whole in one call, as
the naive receiver would embed one item, and store the vectors the same way. No dedup, no
pause, no breaker: its only protection is k. Swept over k = 1, 2, ... on a node, the largest
k that keeps pressure at or below 1.0 is the best safe fixed concurrency, and what it stores
is what a client that knew the node's free cores in advance could do.
"""

import collections
import threading
from dataclasses import dataclass
from typing import Any

from bench.spiral.naive import Item, NaiveReceiver, request_items
from bench.spiral.params import Params
from bench.spiral.run import SERIES_EVERY_S, Result, Stop, run_receiver

_TAKE_TIMEOUT_S = 0.2


class FixedReceiver(NaiveReceiver):
    """The naive receiver's server and store, with a queue and k embedding threads."""

    def __init__(self, params: Params, k: int) -> None:
        super().__init__(params)
        self.name = f"fixed k={k}"
        self.k = k
        self._queued: dict[str, collections.deque[list[Item]]] = {
            "alert": collections.deque(), "chat": collections.deque(),
        }  # fmt: skip
        self._work = threading.Condition()
        self._stop = threading.Event()
        self._workers = [
            threading.Thread(target=self._embed_loop, name=f"fixed-{i}", daemon=True)
            for i in range(k)
        ]

    def start(self, embed_url: str) -> None:
        """Serve and start the k embedding threads."""
        super().start(embed_url)
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        """Stop serving; the embedding threads end after their call (the node fails it)."""
        self._stop.set()
        with self._work:
            self._work.notify_all()
        super().stop()
        for worker in self._workers:
            worker.join(timeout=5)

    def details(self) -> dict[str, str]:
        """Requests still queued at the end."""
        with self._work:
            left = {kind: len(q) for kind, q in self._queued.items()}
        return {"queued at end (alert/chat requests)": f"{left['alert']}/{left['chat']}"}

    def handle(self, path: str, body: dict[str, Any]) -> int:
        """Queue the request's items for one call; 202 at once."""
        items = request_items(path, body)
        if items is None:
            return 404
        if items:
            with self._work:
                self._queued[items[0][0][0]].append(items)
                self._work.notify()
        return 202

    def _take(self) -> list[Item] | None:
        with self._work:
            while not self._stop.is_set():
                for queue in self._queued.values():
                    if queue:
                        return queue.popleft()
                self._work.wait(timeout=_TAKE_TIMEOUT_S)
        return None

    def _embed_loop(self) -> None:
        while (items := self._take()) is not None:
            if not self.embed_and_store(items) and not self._stop.is_set():
                with self._work:
                    self._queued[items[0][0][0]].appendleft(items)


@dataclass(frozen=True)
class SweepStep:
    """One k of the sweep: the run's result and whether pressure stayed at or below 1.0."""

    k: int
    result: Result
    safe: bool


def sweep(params: Params) -> list[SweepStep]:
    """Runs for k = 1, 2, ... until the first k whose pressure exceeds 1.0 (or `fixed_k_max`).

    Each run stops at the comparison window (a sample lands just inside it), or as soon as
    pressure exceeds 1.0: such a k is not safe, and what it would store does not matter.
    """
    stop = Stop(params.compare_s + SERIES_EVERY_S, over_pressure=True)
    steps: list[SweepStep] = []
    for k in range(1, params.fixed_k_max + 1):
        result = run_receiver(FixedReceiver(params, k), params, stop=stop)
        steps.append(SweepStep(k, result, safe=result.peak_pressure <= 1.0))
        if not steps[-1].safe:
            break
    return steps


def best(steps: list[SweepStep], params: Params) -> SweepStep | None:
    """The safe k that stored the most chat messages within the window; None if none is safe."""
    safe = [s for s in steps if s.safe]
    return max(safe, key=lambda s: s.result.chats_stored_by(params.compare_s), default=None)
