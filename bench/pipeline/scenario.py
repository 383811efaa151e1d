"""One scenario: post the traffic, then time it until `/v1/stats` reports everything stored.

The clock starts just before the first post and stops at the first `/v1/stats` poll whose
stored counts (grown since the scenario began) reach what the gateway accepted. Meanwhile the
queue depths (Redis list lengths, via /v1/stats) are sampled, and the embedder logs every call.
"""

import sys
import time
from dataclasses import dataclass, field
from typing import Any

from bench.pipeline import cpu
from bench.pipeline.meter import CallSummary, MeteredEmbedder, summarize
from bench.pipeline.params import Params
from bench.pipeline.poster import Posted, Poster
from bench.pipeline.stack import Stack
from bench.pipeline.traffic import Post, alert_posts, chat_posts, interleaved

KINDS = ("alert", "chat")
QUEUES = ("alerts", "chats", "store")
_PROGRESS_EVERY_S = 5.0
_SETTLE_S = 15.0


@dataclass(frozen=True)
class Scenario:
    """A name and how many distinct alerts and chat messages it posts."""

    name: str
    alerts: int
    chats: int


def scenarios(params: Params) -> list[Scenario]:
    """The scenarios the parameters ask for, in a fixed order."""
    known = {
        "alerts": Scenario("alerts", params.alerts, 0),
        "chats": Scenario("chats", 0, params.chats),
        "mixed": Scenario("mixed", params.mixed_alerts, params.mixed_chats),
    }
    return [known[name] for name in known if name in params.scenarios]


@dataclass
class Sampled:
    """The most seen in `/v1/stats` polls while the scenario ran."""

    peak_depth: dict[str, int] = field(default_factory=lambda: dict.fromkeys(QUEUES, 0))
    peak_unacked: int = 0
    min_limit: int | None = None
    # (monotonic time, points stored of both kinds, store queue depth) per poll.
    store: list[tuple[float, int, int]] = field(default_factory=list)

    def add(self, stats: dict[str, Any], now: float) -> None:
        """Fold one poll in."""
        if not stats:
            return
        stored = sum(stats["stored"][k] for k in KINDS)
        self.store.append((now, stored, stats["queues"]["store"]["depth"]))
        for queue in QUEUES:
            depth = stats["queues"][queue]["depth"]
            self.peak_depth[queue] = max(self.peak_depth[queue], depth)
        self.peak_unacked = max(self.peak_unacked, stats["in_flight"])
        limit = stats["concurrency"]["limit"]
        self.min_limit = limit if self.min_limit is None else min(self.min_limit, limit)

    def store_rate(self) -> float | None:
        """Points/s stored between polls that both saw a backlog on the store queue.

        Only then is the store worker the limit; with one message waiting now and then the
        rate is merely what arrived.
        """
        pairs = zip(self.store, self.store[1:], strict=False)
        backlogged = [(b[0] - a[0], b[1] - a[1]) for a, b in pairs if a[2] >= 2 and b[2] >= 2]
        seconds = sum(dt for dt, _ in backlogged)
        return sum(n for _, n in backlogged) / seconds if seconds > 0 else None


@dataclass
class Outcome:
    """Everything measured in one scenario; times are seconds since the first post."""

    scenario: Scenario
    posts_sent: int
    posted: Posted
    posted_s: float
    stored: dict[str, int]
    stored_s: float | None
    calls: CallSummary
    # The same calls, alerts' and chats' apart.
    kinds: dict[str, CallSummary]
    t0: float
    peak_in_flight: int
    sampled: Sampled
    before: dict[str, Any]
    after: dict[str, Any]
    cpu_s: dict[str, float]

    @property
    def items(self) -> int:
        """Items the gateway accepted."""
        return sum(self.posted.accepted.values())

    @property
    def items_per_s(self) -> float:
        """Items stored end to end per second (0 when not everything was stored)."""
        return self.items / self.stored_s if self.stored_s else 0.0

    def decisions_delta(self, prefix: str) -> float:
        """How much the guard's counters under `prefix` grew during the scenario."""
        before, after = self.before.get("decisions", {}), self.after.get("decisions", {})
        return float(sum(v - before.get(k, 0) for k, v in after.items() if k.startswith(prefix)))


class NotStored(Exception):
    """The scenario's items were not all stored within the drain timeout."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(f"{outcome.scenario.name}: not everything accepted was stored in time")
        self.outcome = outcome


def traffic(scenario: Scenario, params: Params) -> list[Post]:
    """The scenario's requests in posting order (alerts and chats spread evenly when mixed)."""
    alerts = alert_posts(
        scenario.alerts, max_per_webhook=params.max_alerts_per_webhook,
        tag=scenario.name, seed=params.seed,
    )  # fmt: skip
    chats = chat_posts(scenario.chats, batch_size=params.chat_batch_size, tag=scenario.name)
    return interleaved(alerts, chats)


def run(stack: Stack, embedder: MeteredEmbedder, scenario: Scenario, params: Params) -> Outcome:
    """Post the scenario's traffic and wait until it is all stored; NotStored if it is not."""
    posts = traffic(scenario, params)
    before = stack.stats()
    if not before:
        raise RuntimeError("the gateway's /v1/stats does not answer")
    embedder.reset_stats()
    mark = embedder.mark()
    poster = Poster(stack.url, posts, threads=params.posters)
    sampled = Sampled()
    cpu_before = cpu.snapshot(stack.pids())
    t0 = time.monotonic()
    poster.start()
    try:
        stored, stored_at = _wait_stored(stack, poster, sampled, before, t0, params)
    finally:
        poster.stop()
    calls = embedder.calls(mark)
    outcome = Outcome(
        scenario=scenario, posts_sent=len(posts), posted=poster.result,
        posted_s=poster.result.ended_at - t0, stored=stored,
        stored_s=None if stored_at is None else stored_at - t0,
        calls=summarize(calls),
        kinds={k: summarize([c for c in calls if c.kind == k]) for k in KINDS}, t0=t0,
        peak_in_flight=embedder.stats()["peak_in_flight"], sampled=sampled,
        before=before, after=stack.stats(),
        cpu_s=cpu.used(cpu_before, cpu.snapshot(stack.pids())),
    )  # fmt: skip
    if stored_at is None:
        raise NotStored(outcome)
    _settle(stack)
    return outcome


def warm_up(stack: Stack, params: Params) -> None:
    """One alert end to end, untimed: the guard learns the backend's speed from it.

    Until a first call taught it, the guard embeds one input per call; it keeps what it
    learned in Redis for the life of a deployment, so the scenarios measure the steady state.
    """
    poster = Poster(stack.url, alert_posts(1, max_per_webhook=1, tag="warmup", seed=0), threads=1)
    before = stack.stats()
    poster.start()
    try:
        _, stored_at = _wait_stored(stack, poster, Sampled(), before, time.monotonic(), params)
    finally:
        poster.stop()
    if stored_at is None or poster.result.accepted["alert"] != 1:
        raise RuntimeError(f"the warm-up alert was not stored: {dict(poster.result.statuses)}")
    _settle(stack)


def _stored_since(stats: dict[str, Any], before: dict[str, Any]) -> dict[str, int]:
    if not stats:
        return dict.fromkeys(KINDS, 0)
    return {k: stats["stored"][k] - before["stored"][k] for k in KINDS}


def _wait_stored(
    stack: Stack, poster: Poster, sampled: Sampled, before: dict[str, Any], t0: float,
    params: Params,
) -> tuple[dict[str, int], float | None]:  # fmt: skip
    """Poll until the stored counts reach what was accepted; (stored, when) or (stored, None)."""
    next_progress = t0 + _PROGRESS_EVERY_S
    stored = dict.fromkeys(KINDS, 0)
    while True:
        posting_done = poster.done()
        stats = stack.stats()
        now = time.monotonic()
        sampled.add(stats, now)
        stored = _stored_since(stats, before) if stats else stored
        accepted = poster.result.accepted
        if posting_done and all(stored[k] >= accepted[k] for k in KINDS):
            return stored, now
        if posting_done and now - poster.result.ended_at > params.drain_timeout_s:
            return stored, None
        if now >= next_progress:
            _progress(poster, stored, stats, now - t0)
            next_progress = now + _PROGRESS_EVERY_S
        time.sleep(params.poll_s)


def _settle(stack: Stack) -> None:
    """Wait for idle queues, so leftover store work does not spill into the next scenario."""
    deadline = time.monotonic() + _SETTLE_S
    while time.monotonic() < deadline:
        s = stack.stats()
        if s and s["in_flight"] == 0 and all(q["depth"] == 0 for q in s["queues"].values()):
            return
        time.sleep(0.2)


def _progress(poster: Poster, stored: dict[str, int], stats: dict[str, Any], t: float) -> None:
    accepted = poster.result.accepted
    depths = "/".join(str(stats["queues"][q]["depth"]) for q in QUEUES) if stats else "?"
    log(
        f"  +{t:5.1f}s posted {poster.result.posts} requests; stored "
        f"{stored['alert']}/{accepted['alert']} alerts, {stored['chat']}/{accepted['chat']} "
        f"chats; queued (alerts/chats/store) {depths}"
    )


def log(message: str) -> None:
    """Progress to stderr, so stdout holds only the report."""
    print(message, file=sys.stderr, flush=True)
