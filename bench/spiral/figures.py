"""Figures read from a run's call log, series and counters, shared by the table and verdicts."""

import math
from collections import Counter

from bench.spiral.node import CallRecord
from bench.spiral.run import Result


def nearest_rank(values: list[float], q: float) -> float | None:
    """The q-quantile by nearest rank; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def calls_of(r: Result, kind: str) -> list[CallRecord]:
    """Finished calls of one kind ("chat" or "alert")."""
    return [c for c in r.call_log if c.kind == kind]


def batch_sizes(r: Result, kind: str) -> str:
    """Inputs per call of one kind: p50 / p90 / max, '-' without calls."""
    sizes = [float(c.inputs) for c in calls_of(r, kind)]
    if not sizes:
        return "-"
    return "/".join(f"{nearest_rank(sizes, q):.0f}" for q in (0.5, 0.9, 1.0))


def threads_used(r: Result) -> str:
    """Threads per call as the node ran them, and how many calls sent options.num_thread."""
    by_threads = Counter(c.threads for c in r.call_log)
    sent = sum(c.num_thread_sent for c in r.call_log)
    parts = ", ".join(f"{t}x{n}" for t, n in sorted(by_threads.items())) or "-"
    said = "all" if sent == len(r.call_log) else str(sent)
    return f"{parts} ({'none' if not sent else said} sent)"


def first_capped_s(r: Result) -> float | None:
    """When the first call asking for options.num_thread started (s since the storm's start)."""
    return min((c.started_at for c in r.call_log if c.num_thread_sent), default=None)


def scrapes_over_after(r: Result, t: float, scrape_s: float) -> int:
    """1 s pressure averages above 1.0 wholly after `t`."""
    return sum(1 for s in r.samples if s.t - scrape_s >= t and s.pressure > 1.0)


def abandoned(r: Result) -> tuple[int, int]:
    """Calls whose client had hung up (timed out) when the answer was ready; of them healthy."""
    gone = [c for c in r.call_log if c.abandoned]
    return len(gone), sum(c.healthy for c in gone)


def longest_chat_stall_s(r: Result) -> float:
    """Longest stretch with accepted chat messages waiting and none stored."""
    longest, since, stored = 0.0, 0.0, 0
    for p in r.series:
        if p.chats_stored != stored or p.chats_accepted <= p.chats_stored:
            stored, since = p.chats_stored, p.t
        longest = max(longest, p.t - since)
    return longest


def breaker(r: Result) -> tuple[int, int]:
    """Breaker transitions, and how many of them opened it."""
    moves = {k: v for k, v in r.decisions.items() if k.startswith("breaker:") and "->" in k}
    return int(sum(moves.values())), int(sum(v for k, v in moves.items() if k.endswith("->open")))
