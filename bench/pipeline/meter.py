"""The development embedder, metered: every call's start, end, batch size and kind.

DevEmbedder's own stats count calls, inputs and the peak in flight but not how big each call
was, how long the backend was busy or whether it embedded alerts or chats (told apart by the
traffic's texts); this subclass logs all three. It can also turn Nagle's algorithm back on
(`tcp_nodelay=0`): DevEmbedder writes a reply's headers and body as two segments, so on a
kept-alive connection every call would then wait for the client's delayed ACK (about 40 ms on
Linux), a cost Ollama (Go's net/http sets TCP_NODELAY) does not have.
"""

import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass

from bench.pipeline.traffic import kind_of
from common.embedding.devapi import Handler, Server
from common.embedding.devembedder import DevEmbedder


@dataclass(frozen=True)
class Call:
    """One /api/embed call as the backend saw it (monotonic seconds)."""

    started: float
    ended: float
    inputs: int
    kind: str


class _NagleHandler(Handler):
    """DevEmbedder's handler with Nagle's algorithm back on, to show what it costs."""

    disable_nagle_algorithm = False


class MeteredEmbedder(DevEmbedder):
    """A DevEmbedder that also logs each successful call; read a window with `calls(since)`."""

    def __init__(self, *, dim: int, tcp_nodelay: bool = True) -> None:
        super().__init__(dim=dim)
        self._tcp_nodelay = tcp_nodelay
        self._log: list[Call] = []
        self._log_lock = threading.Lock()

    def _bind(self) -> Server:
        server = super()._bind()
        if not self._tcp_nodelay:
            server.RequestHandlerClass = _NagleHandler
        return server

    def metered_embed(
        self, model: str, texts: list[str], dim: int, num_thread: int | None = None
    ) -> list[list[float]]:
        started = time.monotonic()
        vectors = super().metered_embed(model, texts, dim, num_thread)
        call = Call(started=started, ended=time.monotonic(), inputs=len(texts), kind=kind_of(texts))
        with self._log_lock:
            self._log.append(call)
        return vectors

    def mark(self) -> int:
        """A position in the log: calls logged from now on come after it."""
        with self._log_lock:
            return len(self._log)

    def calls(self, since: int = 0) -> list[Call]:
        """Calls logged after the mark `since`, in the order they ended."""
        with self._log_lock:
            return self._log[since:]


@dataclass(frozen=True)
class CallSummary:
    """What a window of calls did: sizes, the backend's busy time and the span it covered."""

    sizes: list[int]
    first_start: float
    last_end: float
    busy_s: float
    # Time within the span with at least one call running.
    covered_s: float
    # The most of these calls running at once.
    peak_in_flight: int

    @property
    def calls(self) -> int:
        """Embedding calls."""
        return len(self.sizes)

    @property
    def inputs(self) -> int:
        """Texts embedded."""
        return sum(self.sizes)

    @property
    def span_s(self) -> float:
        """From the first call's start to the last call's end."""
        return max(0.0, self.last_end - self.first_start)

    @property
    def mean_in_flight(self) -> float:
        """Calls running at once, averaged over the span."""
        return self.busy_s / self.span_s if self.span_s else 0.0

    @property
    def idle_share(self) -> float:
        """Share of the span with no call running at all."""
        return 1.0 - self.covered_s / self.span_s if self.span_s else 0.0


def _covered_s(calls: list[Call]) -> float:
    """Length of the union of the calls' intervals."""
    total, end = 0.0, float("-inf")
    for call in sorted(calls, key=lambda c: c.started):
        if call.ended > end:
            total += call.ended - max(call.started, end)
            end = call.ended
    return total


def _peak(calls: list[Call]) -> int:
    """The most calls running at once (a call ending as another starts does not overlap it)."""
    events = sorted([(c.started, 1) for c in calls] + [(c.ended, -1) for c in calls])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def summarize(calls: list[Call]) -> CallSummary:
    """Sizes, busy time, span and peak in flight of a window of calls (zeros when empty)."""
    if not calls:
        return CallSummary(
            sizes=[], first_start=0.0, last_end=0.0, busy_s=0.0, covered_s=0.0, peak_in_flight=0
        )
    return CallSummary(
        sizes=[c.inputs for c in calls],
        first_start=min(c.started for c in calls),
        last_end=max(c.ended for c in calls),
        busy_s=sum(c.ended - c.started for c in calls),
        covered_s=_covered_s(calls),
        peak_in_flight=_peak(calls),
    )


def size_stats(sizes: list[int]) -> str:
    """min / median / mean / max of batch sizes."""
    if not sizes:
        return "-"
    return (
        f"{min(sizes)} / {statistics.median(sizes):g} / "
        f"{statistics.fmean(sizes):.1f} / {max(sizes)}"
    )


def histogram(sizes: list[int], *, limit: int) -> str:
    """Calls per batch size in power-of-two ranges, with `limit` (the full batch) on its own."""
    if not sizes:
        return "-"
    buckets: Counter[tuple[int, int]] = Counter()
    for size in sizes:
        low = 1 << (size.bit_length() - 1) if size else 0
        high = max(low, 2 * low - 1)
        if size == limit:
            low = high = limit
        elif low < limit <= high:
            high = limit - 1
        buckets[(low, high)] += 1
    return "  ".join(
        f"{low if low == high else f'{low}-{high}'}: {n}"
        for (low, high), n in sorted(buckets.items())
    )
