"""Posting a list of intake requests from a few client threads, as fast as they are answered.

A `429` or `503` with `Retry-After` is honoured and the same request sent again (the gateway
asks for that when Redis is unavailable or the chat backlog is over its cap); anything else
is recorded and not retried, so the scenario knows exactly what was accepted.
"""

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import orjson
import requests

from bench.pipeline.traffic import Post

_HEADERS = {"Content-Type": "application/json"}
_TIMEOUT_S = 30.0
_MAX_ATTEMPTS = 20


@dataclass
class Posted:
    """What the gateway answered: items accepted per kind, statuses, latencies, when it ended."""

    accepted: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)
    ended_at: float = 0.0
    posts: int = 0
    longest_retry_after_s: float = 0.0


class Poster:
    """Sends `posts` in order from `threads` threads; `start()` returns at once."""

    def __init__(self, base_url: str, posts: list[Post], *, threads: int) -> None:
        self._url = base_url
        self._posts = posts
        self._next = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, name=f"poster-{i}", daemon=True)
            for i in range(threads)
        ]
        self.result = Posted()

    def start(self) -> None:
        """Start every thread."""
        for thread in self._threads:
            thread.start()

    def done(self) -> bool:
        """True once every post has been answered (or given up)."""
        return not any(thread.is_alive() for thread in self._threads)

    def stop(self) -> None:
        """No new posts; wait for those in flight."""
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _take(self) -> Post | None:
        with self._lock:
            if self._next >= len(self._posts) or self._stop.is_set():
                return None
            self._next += 1
            return self._posts[self._next - 1]

    def _loop(self) -> None:
        with requests.Session() as session:
            while (post := self._take()) is not None:
                self._send(session, post)
        with self._lock:
            self.result.ended_at = max(self.result.ended_at, time.monotonic())

    def _send(self, session: requests.Session, post: Post) -> None:
        for _ in range(_MAX_ATTEMPTS):
            started = time.monotonic()
            try:
                response = session.post(
                    self._url + post.path, data=post.body, headers=_HEADERS, timeout=_TIMEOUT_S
                )
            except requests.RequestException as exc:
                self._record(post, type(exc).__name__, time.monotonic() - started, None)
                return
            status = str(response.status_code)
            if response.status_code in (429, 503) and not self._stop.is_set():
                self._record(post, status, time.monotonic() - started, None)
                wait_s = _retry_after_s(response)
                with self._lock:
                    r = self.result
                    r.longest_retry_after_s = max(r.longest_retry_after_s, wait_s)
                time.sleep(wait_s)
                continue
            body = orjson.loads(response.content) if response.ok else None
            self._record(post, status, time.monotonic() - started, body)
            return
        self._record(post, "gave up", None, None)

    def _record(self, post: Post, status: str, latency_s: float | None, body: object) -> None:
        with self._lock:
            r = self.result
            r.statuses[status] += 1
            if latency_s is not None:
                r.latencies_s.append(latency_s)
            if isinstance(body, dict):
                r.posts += 1
                r.accepted[post.kind] += int(body.get("accepted", 0))
                r.duplicates += int(body.get("duplicates", 0))


def _retry_after_s(response: requests.Response) -> float:
    try:
        return max(0.1, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0
