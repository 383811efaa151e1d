"""Every bad input gets its 4xx and a JSON error naming the problem; nothing is half-written."""

import socket
from collections.abc import Iterator

import pytest
import requests

from common.cli.redisserver import RedisServer
from common.embedding.devembedder import DevEmbedder
from tests.support import payloads
from tests.support.answers import assert_error
from tests.support.stack import Stack

URL = "/v1/alerts/alertmanager"
TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
    embedder_server: DevEmbedder,
) -> Iterator[Stack]:
    stack = Stack(
        tmp_path_factory.mktemp("bad-input"), redis_server, embedder_server,
        CORTEX_WEBHOOK_TOKEN=TOKEN, CORTEX_MAX_BODY_BYTES="20000",
    )  # fmt: skip
    stack.gateway()
    yield stack
    stack.close()


def post(
    stack: Stack, data: bytes, *, token: str | None = TOKEN, **headers: str
) -> requests.Response:
    headers = {"Content-Type": "application/json", **headers}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(stack.gateway_url + URL, data=data, headers=headers, timeout=10)


def test_malformed_json_is_400(gateway: Stack) -> None:
    assert_error(post(gateway, b'{"alerts": [}'), 400)


def test_wrong_content_type_is_415(gateway: Stack) -> None:
    assert_error(post(gateway, b"alerts", **{"Content-Type": "text/plain"}), 415)


def test_missing_or_wrong_token_is_401(gateway: Stack) -> None:
    body = b'{"alerts": []}'
    assert_error(post(gateway, body, token=None), 401)
    response = post(gateway, body, token="wrong")
    assert_error(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    metrics = requests.get(gateway.gateway_url + "/metrics", timeout=5).text
    assert "cortex_gateway_unauthorized_total 2.0" in metrics


def test_schema_violation_is_422_naming_the_field_and_writes_nothing(gateway: Stack) -> None:
    good = payloads.alert(fingerprint="good0000")
    bad = payloads.alert(fingerprint="bad00000")
    del bad["startsAt"]
    before = gateway.redis.dbsize()
    response = post(
        gateway, requests.models.complexjson.dumps(payloads.notification(good, bad)).encode()
    )
    body = assert_error(response, 422)
    assert body["detail"] == [{"field": "alerts.1.startsAt", "problem": "Field required"}]
    assert gateway.redis.dbsize() == before


def test_oversized_body_is_413_by_header(gateway: Stack) -> None:
    assert_error(post(gateway, b"[" + b"0," * 20000 + b"0]"), 413)


def test_oversized_chunked_body_is_refused_before_it_is_read_whole(gateway: Stack) -> None:
    # No Content-Length: the gateway must count while streaming and stop at the limit.
    host, port = gateway.gateway_url.removeprefix("http://").split(":")
    head = (
        f"POST {URL} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunk = b"x" * 8192
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(head)
        for _ in range(5):  # 40 kB of a body that never ends: no final 0-length chunk
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        # A gateway that waited for the whole body would never answer; recv would time out.
        reply = conn.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


def test_empty_alert_list_is_accepted_with_zero(gateway: Stack) -> None:
    response = post(gateway, requests.models.complexjson.dumps(payloads.notification()).encode())
    assert response.status_code == 202
    assert response.json()["accepted"] == 0


def test_unknown_fields_are_accepted(gateway: Stack) -> None:
    alert = payloads.alert(fingerprint="extra000")
    alert["futureField"] = {"x": 1}
    body = payloads.notification(alert, notification_reason="first notification", newThing=[1])
    response = post(gateway, requests.models.complexjson.dumps(body).encode())
    assert response.status_code == 202, response.text


def test_chat_schema_violation_names_the_field(gateway: Stack) -> None:
    batch = payloads.chat_batch()
    batch["conversations"][0]["messages"][1]["role"] = "robot"
    response = requests.post(
        gateway.gateway_url + "/v1/chats", json=batch, timeout=10,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )  # fmt: skip
    body = assert_error(response, 422)
    assert body["detail"][0]["field"] == "conversations.0.messages.1.role"  # type: ignore[index]


def test_search_parameters_are_validated(gateway: Stack) -> None:
    for params in ({"q": ""}, {"q": "x", "kind": "log"}, {"q": "x", "limit": "0"}, {}):
        response = requests.get(gateway.gateway_url + "/v1/search", params=params, timeout=10)
        assert_error(response, 422)


def test_unknown_path_is_a_json_404(gateway: Stack) -> None:
    assert_error(requests.get(gateway.gateway_url + "/nope", timeout=10), 404)


def test_a_bad_search_mode_or_fusion_is_422_naming_the_field(gateway: Stack) -> None:
    for field, value, allowed in (("mode", "semantic", "'hybrid'"), ("fusion", "avg", "'boost'")):
        response = requests.get(
            gateway.gateway_url + "/v1/search", params={"q": "x", field: value}, timeout=10
        )
        body = assert_error(response, 422)
        [problem] = body["detail"]  # type: ignore[misc]
        assert problem["field"] == field and allowed in problem["problem"]
