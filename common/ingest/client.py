"""Calling the gateway's chat endpoints: waits out 429/503, retries transport errors, to a deadline.

Every resend is safe: the gateway deduplicates per message, so a post that was accepted but
whose answer was lost comes back as duplicates, and a lookup (`/v1/chats/known`) only reads.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from common.ingest.deadline import Deadline

# Statuses that say "this post is bad": later posts may still be fine.
REJECTED = frozenset({400, 413, 415, 422})
# Statuses that say "not now": the same post is sent again after a wait.
BUSY = frozenset({429, 503})
# A proxy in front of the gateway may answer these while the gateway restarts.
UNAVAILABLE = frozenset({502, 504})
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 15.0
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0
CHATS_PATH = "/v1/chats"
KNOWN_PATH = "/v1/chats/known"


@dataclass
class Reply:
    """The gateway's final answer to one call: a 2xx with its body, or a rejecting 4xx."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        """True for a 2xx (202 for a post, 200 for a lookup)."""
        return 200 <= self.status < 300

    def count(self, name: str) -> int:
        """A count from the 202 body (`accepted`, `duplicates`, `skipped`), 0 if absent."""
        value = self.body.get(name, 0) if isinstance(self.body, dict) else 0
        return value if isinstance(value, int) else 0


class DeadlineReached(Exception):
    """The deadline passed, or a wait would end past it; the post was not sent."""


class GatewayFailed(Exception):
    """An answer no later post can fix (401, 403, 404, 500...): the run stops."""


class Gateway:
    """A client of `/v1/chats` and `/v1/chats/known` with one HTTP session."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        session: requests.Session | None = None,
        notify: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.url = url.rstrip("/")
        self.session = session or requests.Session()
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.notify = notify
        self.refused = 0
        self.retries = 0
        self._problem = ""

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def send(self, body: bytes, *, deadline: Deadline) -> Reply:
        """Post a chat batch until the gateway takes or rejects it; DeadlineReached if too late."""
        return self.call(CHATS_PATH, body, deadline=deadline)

    def ask(self, body: bytes, *, deadline: Deadline) -> Reply:
        """Ask which messages the gateway already has, waiting and retrying as `send` does."""
        return self.call(KNOWN_PATH, body, deadline=deadline)

    def call(self, path: str, body: bytes, *, deadline: Deadline) -> Reply:
        """POST until the gateway answers for good; DeadlineReached if time runs out first."""
        failures = 0
        while True:
            if deadline.expired():
                raise DeadlineReached("deadline reached")
            response = self._post(path, body, deadline)
            if response is not None and response.status_code in BUSY:
                self.refused += response.status_code == 429
                wait_s = retry_after_s(response.headers.get("Retry-After"))
                failures = 0
            elif response is None or response.status_code in UNAVAILABLE:
                wait_s = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2**failures)
                failures += 1
                problem = self._problem if response is None else f"HTTP {response.status_code}"
                self.notify(f"gateway unavailable ({problem}); retrying in {wait_s:.1f}s")
            else:
                return _final(response)
            self.retries += 1
            if not deadline.wait(wait_s):
                raise DeadlineReached(f"the next try ({wait_s:.1f}s away) is past the deadline")

    def _post(self, path: str, body: bytes, deadline: Deadline) -> requests.Response | None:
        # The read timeout shrinks with the deadline so a hung gateway cannot hold the run.
        read_s = max(1.0, min(READ_TIMEOUT_S, deadline.remaining_s()))
        try:
            return self.session.post(
                self.url + path,
                data=body,
                headers=self.headers,
                timeout=(CONNECT_TIMEOUT_S, read_s),
            )
        except requests.RequestException as exc:
            self._problem = type(exc).__name__
            return None


def _final(response: requests.Response) -> Reply:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:2000]
    if 200 <= response.status_code < 300 or response.status_code in REJECTED:
        return Reply(response.status_code, body)
    raise GatewayFailed(f"gateway answered {response.status_code}: {body}")


def retry_after_s(value: str | None, *, default_s: float = 5.0) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return default_s
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default_s
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
