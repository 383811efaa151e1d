"""Calling the gateway: 429 and Retry-After, transport errors, rejections, the deadline."""

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest

from common.cli.procs import free_port
from common.ingest.checkpoint import content_hash
from common.ingest.client import (
    CHATS_PATH,
    KNOWN_PATH,
    DeadlineReached,
    Gateway,
    GatewayFailed,
    retry_after_s,
)
from common.ingest.deadline import Deadline

BODY = orjson.dumps({"source": "librechat", "conversations": []})
LOOKUP = orjson.dumps({"source": "librechat", "messages": []})


Script = list[tuple[int, dict[str, str], Any]]


class StubGateway:
    """A tiny gateway over real HTTP: `/v1/chats` and `/v1/chats/known`.

    Each path answers from its script first. A 202 to a post (scripted or not) remembers the
    posted messages with their content hashes, and lookups answer from that memory, as the
    real gateway's dedup state does.
    """

    def __init__(self) -> None:
        self.scripts: dict[str, Script] = {CHATS_PATH: [], KNOWN_PATH: []}
        self.requests: list[tuple[dict[str, str], Any]] = []
        self.lookups: list[tuple[dict[str, str], Any]] = []
        self.held: dict[tuple[str, str, str], str] = {}
        self.delay_s = 0.0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(stub.delay_s)
                status, headers, answer = stub.answer(self.path, dict(self.headers), body)
                raw = orjson.dumps(answer)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(raw))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def answer(
        self, path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, dict[str, str], Any]:
        """The scripted answer for `path`, else the real one; posts answered 202 are held."""
        script = self.scripts[path]
        if path == KNOWN_PATH:
            self.lookups.append((headers, body))
            return script.pop(0) if script else (200, {}, {"known": self.known(body)})
        self.requests.append((headers, body))
        reply = script.pop(0) if script else (202, {}, self.accept(body))
        if reply[0] == 202:
            self.hold(body)
        return reply

    def accept(self, body: Any) -> dict[str, int]:
        """Counts of a post as the gateway would give them."""
        messages = [(c, m) for c in body["conversations"] for m in c["messages"]]
        duplicates = sum(
            self.held.get(_key(body["source"], c, m)) == content_hash(m) for c, m in messages
        )
        return {"accepted": len(messages) - duplicates, "duplicates": duplicates, "skipped": 0}

    def hold(self, body: Any) -> None:
        """Remember every message of an accepted post."""
        for c in body["conversations"]:
            for m in c["messages"]:
                self.held[_key(body["source"], c, m)] = content_hash(m)

    def known(self, body: Any) -> list[bool]:
        """Per looked-up message: held with that content hash?"""
        source = body["source"]
        return [
            self.held.get((source, m["conversation_id"], m["message_id"])) == m["content_hash"]
            for m in body["messages"]
        ]

    def then(
        self, status: int, answer: Any = None, *, path: str = CHATS_PATH, **headers: str
    ) -> "StubGateway":
        """Answer the next call to `path` so."""
        self.scripts[path].append((status, headers, answer or {"error": "x", "detail": None}))
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def _key(source: str, conversation: Any, message: Any) -> tuple[str, str, str]:
    return source, conversation["id"], message["id"]


@pytest.fixture
def stub() -> Iterator[StubGateway]:
    server = StubGateway()
    yield server
    server.close()


@pytest.fixture
def gateway(stub: StubGateway) -> Iterator[Gateway]:
    client = Gateway(stub.url, token="s3cret")
    yield client
    client.close()


def test_a_429_is_waited_out_and_the_same_post_sent_again(
    stub: StubGateway, gateway: Gateway
) -> None:
    stub.then(429, **{"Retry-After": "0.2"}).then(503, **{"Retry-After": "0"})
    reply = gateway.send(BODY, deadline=Deadline(10))
    assert reply.ok and reply.count("accepted") == 0
    assert gateway.refused == 1 and gateway.retries == 2
    assert [body for _, body in stub.requests] == [orjson.loads(BODY)] * 3
    assert stub.requests[0][0]["Authorization"] == "Bearer s3cret"


def test_a_retry_after_past_the_deadline_stops_without_waiting(
    stub: StubGateway, gateway: Gateway
) -> None:
    stub.then(429, **{"Retry-After": "30"})
    deadline = Deadline(5)
    with pytest.raises(DeadlineReached, match="past the deadline"):
        gateway.send(BODY, deadline=deadline)
    assert deadline.elapsed_s() < 2 and gateway.refused == 1


def test_an_expired_deadline_sends_nothing(stub: StubGateway, gateway: Gateway) -> None:
    with pytest.raises(DeadlineReached):
        gateway.send(BODY, deadline=Deadline(0))
    assert stub.requests == []


def test_a_bad_post_is_returned_as_rejected(stub: StubGateway, gateway: Gateway) -> None:
    stub.then(422, {"error": "invalid payload", "detail": [{"field": "conversations.0.id"}]})
    reply = gateway.send(BODY, deadline=Deadline(5))
    assert not reply.ok and reply.status == 422
    assert reply.body["error"] == "invalid payload"


@pytest.mark.parametrize("status", [401, 404, 500])
def test_an_answer_no_post_can_fix_stops_the_run(
    stub: StubGateway, gateway: Gateway, status: int
) -> None:
    stub.then(status, {"error": "unauthorized"})
    with pytest.raises(GatewayFailed, match=f"gateway answered {status}"):
        gateway.send(BODY, deadline=Deadline(5))


def test_an_unreachable_gateway_is_retried_with_backoff_until_the_deadline() -> None:
    notes: list[str] = []
    gateway = Gateway(f"http://127.0.0.1:{free_port()}", notify=notes.append)
    with pytest.raises(DeadlineReached):
        gateway.send(BODY, deadline=Deadline(2))
    gateway.close()
    assert gateway.retries >= 2
    assert notes[0] == "gateway unavailable (ConnectionError); retrying in 0.5s"
    assert notes[1].endswith("retrying in 1.0s")


def test_a_lookup_waits_and_retries_as_a_post_does(stub: StubGateway, gateway: Gateway) -> None:
    stub.then(503, path=KNOWN_PATH, **{"Retry-After": "0"}).then(502, path=KNOWN_PATH)
    reply = gateway.ask(LOOKUP, deadline=Deadline(10))
    assert reply.ok and reply.status == 200 and reply.body == {"known": []}
    assert len(stub.lookups) == 3 and stub.requests == [] and gateway.retries == 2
    assert stub.lookups[2][0]["Authorization"] == "Bearer s3cret"


def test_a_hung_lookup_ends_at_the_deadline(stub: StubGateway, gateway: Gateway) -> None:
    stub.delay_s = 3
    deadline = Deadline(1.5)
    with pytest.raises(DeadlineReached):
        gateway.ask(LOOKUP, deadline=deadline)
    assert deadline.elapsed_s() < 2.5  # the read timeout shrank with the deadline


def test_retry_after_takes_seconds_or_an_http_date() -> None:
    assert retry_after_s("7") == 7
    assert retry_after_s(None) == 5 and retry_after_s("soon") == 5
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < retry_after_s(later) <= 30
