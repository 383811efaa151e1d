"""Posting to the gateway: 429 and Retry-After, transport errors, rejections, the deadline."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest

from common.cli.procs import free_port
from common.ingest.client import DeadlineReached, Gateway, GatewayFailed, retry_after_s
from common.ingest.deadline import Deadline

BODY = orjson.dumps({"source": "librechat", "conversations": []})


class StubGateway:
    """A tiny /v1/chats: answers from a script, then 202 counting the posted messages."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], Any]] = []
        self.requests: list[tuple[dict[str, str], Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append((dict(self.headers), body))
                status, headers, answer = stub.script.pop(0) if stub.script else stub.accept(body)
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

    @staticmethod
    def accept(body: Any) -> tuple[int, dict[str, str], Any]:
        n = sum(len(c["messages"]) for c in body["conversations"])
        return 202, {}, {"accepted": n, "duplicates": 0, "skipped": 0}

    def then(self, status: int, answer: Any = None, **headers: str) -> "StubGateway":
        self.script.append((status, headers, answer or {"error": "x", "detail": None}))
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


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


def test_retry_after_takes_seconds_or_an_http_date() -> None:
    assert retry_after_s("7") == 7
    assert retry_after_s(None) == 5 and retry_after_s("soon") == 5
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < retry_after_s(later) <= 30
