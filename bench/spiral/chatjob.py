"""The runaway chat-ingest job: posts chat batches far faster than the node can embed.

It posts `chat_batches_per_s` batches of `chat_batch_size` new messages for the storm's
duration, on a fixed schedule, whatever the answers (the CronJob in the incident ran for seven
hours and was respawned whenever its pod died). Up to `chat_in_flight` posts run at once, each
with a `chat_timeout_s` client timeout; a timed-out batch is given up, not re-sent. A `429` or
`503` with `Retry-After` is honoured: the whole job waits, then re-sends that batch.
"""

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests

from bench.spiral.params import Params

_TOPICS = [
    "restoring a qdrant snapshot after a node failure",
    "why redis AOF rewrite blocks on a slow disk",
    "tuning immich machine learning workers on arm64",
    "mailu front pod failing liveness probes",
    "nextcloud talk high performance backend behind traefik",
    "flux kustomization stuck on a failed health check",
    "seaweedfs csi volumes losing files after a restart",
    "ollama num_thread and container cpu limits",
]
# Every chat message's text starts with this (the simulated node tells chat calls by it).
CHAT_MARKER = "(conv-"


@dataclass
class JobStats:
    """What the job sent and what the receiver accepted (answered 2xx in time)."""

    batches: int = 0
    messages: int = 0
    accepted: set[tuple[str, str]] = field(default_factory=set)
    outcomes: Counter[str] = field(default_factory=Counter)
    throttled: int = 0


def chat_batch(index: int, size: int) -> dict[str, Any]:
    """Batch `index` of the export: one conversation of `size` new messages."""
    conversation = f"conv-{index:05d}"
    topic = _TOPICS[index % len(_TOPICS)]
    messages = [
        {
            "id": f"m{j}",
            "role": "user" if j % 2 == 0 else "assistant",
            "text": f"({conversation} #{j}) {topic}: step {j} of the investigation, "
            f"what we checked and what we changed next",
            "created_at": f"2026-04-{1 + index % 28:02d}T09:{j % 60:02d}:00Z",
        }
        for j in range(size)
    ]
    return {
        "source": "librechat",
        "conversations": [{"id": conversation, "title": topic, "messages": messages}],
    }


class ChatJob:
    """Runs the job in `chat_in_flight` poster threads sharing one schedule."""

    def __init__(self, url: str, params: Params) -> None:
        self._url = url
        self._p = params
        self._lock = threading.Lock()
        self._next = 0
        self._not_before = 0.0
        self._t0 = 0.0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.stats = JobStats()
        self.ended_at: float | None = None

    def start(self, t0: float) -> None:
        """Start posting on the schedule that begins at `t0` (monotonic)."""
        self._t0 = t0
        for i in range(self._p.chat_in_flight):
            thread = threading.Thread(target=self._post_loop, name=f"chat-{i}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def wait(self) -> float:
        """Block until every post has returned; the job's end (monotonic)."""
        for thread in self._threads:
            thread.join()
        self.ended_at = time.monotonic()
        return self.ended_at

    def stop(self) -> None:
        """Stop early (Ctrl-C or an error): no new posts."""
        self._stop.set()

    def _take(self) -> int | None:
        with self._lock:
            index = self._next
            if index / self._p.chat_batches_per_s >= self._p.storm_s:
                return None
            self._next += 1
            return index

    def _post_loop(self) -> None:
        while not self._stop.is_set() and (index := self._take()) is not None:
            due = self._t0 + index / self._p.chat_batches_per_s
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            self._post_until_answered(index)

    def _post_until_answered(self, index: int) -> None:
        batch = chat_batch(index, self._p.chat_batch_size)
        self._count_sent()
        give_up = self._t0 + self._p.storm_s + self._p.chat_timeout_s
        while not self._stop.is_set() and time.monotonic() < give_up:
            self._wait_not_before()
            outcome, retry_after_s = self._post(batch)
            if retry_after_s is None:
                self._record(outcome, batch)
                return
            with self._lock:
                self.stats.throttled += 1
                self._not_before = max(self._not_before, time.monotonic() + retry_after_s)
        self._record("gave up while throttled", batch)

    def _wait_not_before(self) -> None:
        with self._lock:
            wait_s = self._not_before - time.monotonic()
        if wait_s > 0:
            self._stop.wait(wait_s)

    def _post(self, batch: dict[str, Any]) -> tuple[str, float | None]:
        """One POST; the outcome, and Retry-After seconds when the receiver asks to wait."""
        try:
            response = requests.post(self._url, json=batch, timeout=self._p.chat_timeout_s)
        except requests.Timeout:
            return "timeout", None
        except requests.RequestException:
            return "network error", None
        if response.status_code in (429, 503):
            return str(response.status_code), _retry_after_s(response)
        return ("ok" if response.ok else str(response.status_code)), None

    def _count_sent(self) -> None:
        with self._lock:
            self.stats.batches += 1
            self.stats.messages += self._p.chat_batch_size

    def _record(self, outcome: str, batch: dict[str, Any]) -> None:
        conversation = batch["conversations"][0]
        keys = {(conversation["id"], m["id"]) for m in conversation["messages"]}
        with self._lock:
            self.stats.outcomes[outcome] += 1
            if outcome == "ok":
                self.stats.accepted |= keys


def _retry_after_s(response: requests.Response) -> float:
    try:
        return max(0.1, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0
