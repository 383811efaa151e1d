"""A runaway chat exporter against the backlog cap: Redis memory must stop growing at the cap.

Nothing consumes the chat queue, and the flooding clients ignore `Retry-After` (the incident's
ingest job did not know it existed). Every post carries new messages, so only admission
control can keep Redis from growing: once the backlog reaches `CORTEX_CHAT_BACKLOG_CAP`, every
post is answered 429 before anything is written.
"""

import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.gateway.backend import Backend
from bench.gateway.meter import measure
from bench.gateway.servers import Server, gateway_server
from common.contract import Queue, queue_keys

CLIENTS = 4
MESSAGES_PER_POST = 20
SAMPLE_EVERY_S = 0.25
# Flat: what Redis grows by after the first 429, as a share of what it held then.
GROWTH_TARGET = 0.02
_SENTENCES = (
    "kubectl describe pod shows the container was OOMKilled after the heap grew past the limit; "
    "raise the memory request, check the JVM flags, then watch the restarts in Grafana. "
    "Die Latenz steigt, sobald der Knoten unter Last steht — prüfen Sie node_exporter zuerst. "
)
_WORDS = _SENTENCES.strip().split(" ")


@dataclass
class Sample:
    """Redis at one moment of the flood: its memory and the chat messages queued."""

    t_s: float
    redis_mib: float
    queued_messages: int


@dataclass
class Flood:
    """What the flood offered, what was answered, and how Redis and the gateway held up."""

    cap_items: int
    duration_s: float = 0.0
    answers: Counter[int] = field(default_factory=Counter)
    messages_accepted: int = 0
    first_refusal_s: float | None = None
    samples: list[Sample] = field(default_factory=list)
    gateway_cpu_s: float = 0.0
    gateway_peak_rss_mib: float = 0.0
    retry_after_s: set[str] = field(default_factory=set)

    def at(self, t_s: float) -> Sample:
        """The first sample at or after `t_s` (the last one if none is)."""
        return next((s for s in self.samples if s.t_s >= t_s), self.samples[-1])


def _text(n: int) -> str:
    # 40-120 words: a realistic chat message, different for every n.
    words = [_WORDS[(n * 7 + i) % len(_WORDS)] for i in range(40 + n % 80)]
    return f"[{n}] " + " ".join(words)


def _batch(post: int) -> dict[str, object]:
    messages = [
        {
            "id": f"m{post}-{i}",
            "role": "user" if i % 2 == 0 else "assistant",
            "text": _text(post * MESSAGES_PER_POST + i),
            "created_at": "2026-11-30T08:15:00Z",
        }
        for i in range(MESSAGES_PER_POST)
    ]
    return {
        "source": "bench",
        "conversations": [{"id": f"c{post}", "title": f"flood {post}", "messages": messages}],
    }


class ChatFlood:
    """`CLIENTS` threads posting new chat batches back to back for a while, and a sampler."""

    def __init__(self, backend: Backend, logs: Path, *, duration_s: int, cap_items: int) -> None:
        self._backend = backend
        self._logs = logs
        self._duration_s = duration_s
        self._posts = itertools.count()
        self._lock = threading.Lock()
        self.flood = Flood(cap_items)

    def run(self) -> Flood:
        """Start a fresh gateway, flood it, stop it; the flood's record."""
        server = gateway_server(
            self._backend.url, self._logs, storm_threshold=None,
            extra_env={"CORTEX_CHAT_BACKLOG_CAP": str(self.flood.cap_items)},
        )  # fmt: skip
        server.start()
        try:
            _, window = measure([server.pid], lambda: self._flood(server))
        finally:
            server.stop()
        self.flood.gateway_cpu_s = window.usages[0].cpu_s
        self.flood.gateway_peak_rss_mib = window.usages[0].peak_rss_mib
        self._backend.flush()
        return self.flood

    def _flood(self, server: Server) -> None:
        url = f"http://127.0.0.1:{server.port}/v1/chats"
        started = time.monotonic()
        deadline = started + self._duration_s
        clients = [
            threading.Thread(target=self._client, args=(url, started, deadline), daemon=True)
            for _ in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        while time.monotonic() < deadline:
            self._sample(started)
            time.sleep(SAMPLE_EVERY_S)
        for client in clients:
            client.join()
        self._sample(started)
        self.flood.duration_s = time.monotonic() - started

    def _client(self, url: str, started: float, deadline: float) -> None:
        with requests.Session() as session:
            while time.monotonic() < deadline:
                post = next(self._posts)
                answer = session.post(url, json=_batch(post), timeout=10)
                with self._lock:
                    self._count(answer, time.monotonic() - started)

    def _count(self, answer: requests.Response, t_s: float) -> None:
        flood = self.flood
        flood.answers[answer.status_code] += 1
        if answer.status_code == 202:
            flood.messages_accepted += int(answer.json()["accepted"])
        elif answer.status_code == 429:
            if flood.first_refusal_s is None:
                flood.first_refusal_s = t_s
            flood.retry_after_s.add(answer.headers.get("Retry-After", "-"))

    def _sample(self, started: float) -> None:
        backend = self._backend
        queued = sum(int(backend.client.llen(key)) for key in queue_keys(Queue.CHATS))
        used = backend.used_memory_mib()
        self.flood.samples.append(Sample(time.monotonic() - started, used, queued))


def report(flood: Flood) -> str:
    """The flood's answers, Redis over time, and the verdict on Redis memory."""
    if not flood.samples:
        return ""
    answers = ", ".join(f"{code}: {n}" for code, n in sorted(flood.answers.items()))
    posts = sum(flood.answers.values())
    lines = [
        f"chat flood: {CLIENTS} clients posting {MESSAGES_PER_POST} new messages per post back "
        f"to back for {flood.duration_s:.0f} s, ignoring Retry-After; nothing consumes "
        f"(CORTEX_CHAT_BACKLOG_CAP={flood.cap_items} items)",
        f"  posts answered: {answers} ({posts / flood.duration_s:.0f} posts/s); "
        f"messages accepted {flood.messages_accepted}; Retry-After given: "
        f"{', '.join(sorted(flood.retry_after_s)) or '-'} s",
        f"  gateway: {flood.gateway_cpu_s * 1000 / max(1, posts):.2f} ms CPU per post, "
        f"peak RSS {flood.gateway_peak_rss_mib:.1f} MiB",
        "  redis used_memory (MiB) / chat messages queued, over time:",
    ]
    step = max(1, len(flood.samples) // 8)
    picks = [*flood.samples[::step], flood.samples[-1]]
    lines.append(
        "    " + "  ".join(f"{s.t_s:.1f}s {s.redis_mib:.1f}/{s.queued_messages}" for s in picks)
    )
    return "\n".join([*lines, verdict(flood)])


def verdict(flood: Flood) -> str:
    """Redis may not grow once the cap refused the first post."""
    if flood.first_refusal_s is None:
        return "FAIL  the chat backlog cap never answered 429 (the flood was too short or slow)"
    at_cap = flood.at(flood.first_refusal_s)
    peak = max(s.redis_mib for s in flood.samples)
    end = flood.samples[-1]
    growth = peak - at_cap.redis_mib
    ok = growth <= GROWTH_TARGET * at_cap.redis_mib
    return (
        f"{'PASS' if ok else 'FAIL'}  Redis memory bounded by the chat backlog cap: first 429 "
        f"after {flood.first_refusal_s:.1f} s at {at_cap.redis_mib:.1f} MiB; peak "
        f"{peak:.1f} MiB, at the end {end.redis_mib:.1f} MiB ({end.queued_messages} messages "
        f"queued); +{growth:.2f} MiB after the cap (target <= {GROWTH_TARGET:.0%})"
    )
