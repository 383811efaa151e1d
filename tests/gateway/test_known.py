"""`POST /v1/chats/known` on a real gateway: answers from the dedup state; bad input is a 4xx."""

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests

from common import keys
from common.cli.procs import free_port
from common.cli.redisserver import RedisServer
from common.embedding.devembedder import DevEmbedder
from common.ingest.checkpoint import content_hash
from common.ingest.librechat import Message
from common.items import chat_key
from tests.support import payloads
from tests.support.answers import assert_error
from tests.support.stack import Stack

URL = "/v1/chats/known"
TOKEN = "s3cret-token"
LIMIT_BYTES = 200_000


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
    embedder_server: DevEmbedder,
) -> Iterator[Stack]:
    stack = Stack(
        tmp_path_factory.mktemp("known"), redis_server, embedder_server,
        CORTEX_WEBHOOK_TOKEN=TOKEN, CORTEX_MAX_BODY_BYTES=str(LIMIT_BYTES),
    )  # fmt: skip
    stack.gateway()
    yield stack
    stack.close()


def ask(stack: Stack, body: Any, *, token: str | None = TOKEN, **headers: str) -> requests.Response:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {"Content-Type": "application/json", **headers}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(stack.gateway_url + URL, data=data, headers=headers, timeout=10)


def entry(conversation_id: str, message: dict[str, Any]) -> dict[str, str]:
    """How the ingest CLI names a message it holds."""
    return {
        "conversation_id": conversation_id,
        "message_id": message["id"],
        "content_hash": content_hash(Message(**message)),
    }


def test_it_says_which_messages_were_accepted_with_that_content(gateway: Stack) -> None:
    batch = payloads.chat_batch(conversation_id="known-1")
    posted = requests.post(
        gateway.gateway_url + "/v1/chats", json=batch, timeout=10,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )  # fmt: skip
    assert posted.status_code == 202, posted.text
    [conversation] = batch["conversations"]
    first, second = conversation["messages"][:2]
    edited = {**second, "text": second["text"] + " (edited)"}
    unknown = {**first, "id": "never-posted"}
    query = [entry("known-1", m) for m in (first, edited, unknown, second)]
    response = ask(gateway, {"source": batch["source"], "messages": query})
    assert response.status_code == 200, response.text
    assert response.json() == {"known": [True, False, False, True]}
    other = ask(gateway, {"source": "elsewhere", "messages": query})
    assert other.json() == {"known": [False, False, False, False]}


def test_asking_renews_what_a_duplicate_post_would(gateway: Stack) -> None:
    batch = payloads.chat_batch(conversation_id="known-ttl")
    requests.post(
        gateway.gateway_url + "/v1/chats", json=batch, timeout=10,
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).raise_for_status()  # fmt: skip
    message = batch["conversations"][0]["messages"][0]
    seen = keys.seen(chat_key(batch["source"], "known-ttl", message["id"]))
    gateway.redis.expire(seen, 100)
    assert ask(gateway, {"source": batch["source"], "messages": [entry("known-ttl", message)]}).ok
    assert gateway.redis.ttl(seen) > 100


def test_nothing_asked_is_an_empty_answer(gateway: Stack) -> None:
    response = ask(gateway, {"source": "librechat", "messages": []})
    assert response.status_code == 200 and response.json() == {"known": []}


def test_a_missing_or_wrong_token_is_401(gateway: Stack) -> None:
    body = {"source": "librechat", "messages": []}
    assert_error(ask(gateway, body, token=None), 401)
    response = ask(gateway, body, token="wrong")
    assert_error(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"conversation_id": "c", "message_id": "m", "content_hash": "XYZ"}, "content_hash"),
        ({"conversation_id": "c", "content_hash": "0" * 16}, "message_id"),
        ({"conversation_id": "", "message_id": "m", "content_hash": "0" * 16}, "conversation_id"),
    ],
)
def test_a_bad_message_is_422_naming_the_field(
    gateway: Stack, message: dict[str, str], field: str
) -> None:
    good = {"conversation_id": "c", "message_id": "m0", "content_hash": "0" * 16}
    body = assert_error(ask(gateway, {"source": "librechat", "messages": [good, message]}), 422)
    assert [p["field"] for p in body["detail"]] == [f"messages.1.{field}"]


def test_a_bad_source_and_too_many_messages_are_422_naming_the_field(gateway: Stack) -> None:
    many = [
        {"conversation_id": "c", "message_id": f"m{i}", "content_hash": "0" * 16}
        for i in range(1001)
    ]
    body = assert_error(ask(gateway, {"source": "librechat", "messages": many}), 422)
    assert [p["field"] for p in body["detail"]] == ["messages"]
    body = assert_error(ask(gateway, {"source": "no spaces", "messages": []}), 422)
    assert [p["field"] for p in body["detail"]] == ["source"]


def test_malformed_json_is_400_and_another_content_type_415(gateway: Stack) -> None:
    assert_error(ask(gateway, b'{"source": [}'), 400)
    assert_error(ask(gateway, b"source", **{"Content-Type": "text/plain"}), 415)


def test_an_oversized_body_is_413_by_header(gateway: Stack) -> None:
    body = assert_error(ask(gateway, b"[" + b"0," * LIMIT_BYTES + b"0]"), 413)
    assert body["detail"] == {"limit_bytes": LIMIT_BYTES}


def test_an_oversized_chunked_body_is_refused_before_it_is_read_whole(gateway: Stack) -> None:
    host, port = gateway.gateway_url.removeprefix("http://").split(":")
    head = (
        f"POST {URL} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunk = b"x" * 8192
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(head)
        for _ in range(LIMIT_BYTES // len(chunk) + 2):  # past the limit, and never finished
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        reply = conn.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


def test_redis_down_is_503_with_retry_after(tmp_path: Path, embedder_server: DevEmbedder) -> None:
    redis_server = RedisServer(port=free_port(), data_dir=tmp_path / "redis", persist=False)
    redis_server.start()
    stack = Stack(tmp_path, redis_server, embedder_server)
    try:
        stack.gateway()
        message = payloads.chat_batch()["conversations"][0]["messages"][0]
        body = {"source": "librechat", "messages": [entry("c", message)]}
        assert ask(stack, body, token=None).status_code == 200
        redis_server.stop()
        response = ask(stack, body, token=None)
        assert_error(response, 503)
        assert response.headers["retry-after"] == "5"
    finally:
        stack.close()
        redis_server.stop()
