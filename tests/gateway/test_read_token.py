"""Reading the memory takes its own token: a wrong or missing one is a JSON 401, the writers'
token does not read, and the check is also an ASGI wrapper for apps mounted beside the routes."""

from collections.abc import Iterator

import httpx
import pytest
import requests
from starlette.types import Receive, Scope, Send

from common.cli.redisserver import RedisServer
from common.embedding.devembedder import DevEmbedder
from gateway.auth import ReaderGate, token_matches
from tests.support.stack import Stack

READ = "reader-s3cret"
WRITE = "writer-s3cret"
READ_PATHS = [
    "/v1/search?q=disk",
    "/v1/recall?text=disk",
    "/v1/alerts/history?alertname=KubePodCrashLooping",
    "/v1/conversations/conv-1",
]


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
    embedder_server: DevEmbedder,
) -> Iterator[Stack]:
    stack = Stack(
        tmp_path_factory.mktemp("read-token"), redis_server, embedder_server,
        CORTEX_READ_TOKEN=READ, CORTEX_WEBHOOK_TOKEN=WRITE, CORTEX_SEARCH_TIMEOUT_S="1",
    )  # fmt: skip
    stack.gateway()
    yield stack
    stack.close()


def get(stack: Stack, path: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(stack.gateway_url + path, headers=headers, timeout=10)


@pytest.mark.parametrize("path", READ_PATHS)
@pytest.mark.parametrize("token", [None, "wrong", WRITE])
def test_reads_without_the_read_token_are_401(gateway: Stack, path: str, token: str) -> None:
    response = get(gateway, path, token)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "missing or wrong bearer token"
    assert response.headers["www-authenticate"] == "Bearer"


def test_the_read_token_passes_and_is_counted_apart(gateway: Stack) -> None:
    # No store worker runs: past the token, search waits for one and says so.
    assert get(gateway, "/v1/search?q=disk", READ).status_code == 503
    metrics = requests.get(gateway.gateway_url + "/metrics", timeout=5).text
    assert "cortex_gateway_read_unauthorized_total" in metrics
    # The writers' counter pages someone about lost alerts: reads never count there.
    assert "cortex_gateway_unauthorized_total 0.0" in metrics


def test_the_read_token_does_not_write(gateway: Stack) -> None:
    headers = {"Authorization": f"Bearer {READ}"}
    response = gateway.post("/v1/chats", {"source": "x", "conversations": []}, headers=headers)
    assert response.status_code == 401


def test_token_matching() -> None:
    assert token_matches("", None)
    assert token_matches("Bearer abc", "abc")
    assert token_matches("bearer abc", "abc")
    assert not token_matches("Bearer abcd", "abc")
    assert not token_matches("Basic abc", "abc")
    assert not token_matches("", "abc")


async def _hello(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


@pytest.mark.anyio
async def test_reader_gate_wraps_a_mounted_app() -> None:
    transport = httpx.ASGITransport(app=ReaderGate(_hello, READ))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        refused = await client.post("/mcp", headers={"Authorization": "Bearer nope"})
        assert refused.status_code == 401
        assert refused.json() == {"error": "missing or wrong bearer token", "detail": None}
        passed = await client.post("/mcp", headers={"Authorization": f"Bearer {READ}"})
        assert passed.status_code == 200 and passed.text == "hello"
    open_transport = httpx.ASGITransport(app=ReaderGate(_hello, None))
    async with httpx.AsyncClient(transport=open_transport, base_url="http://gw") as client:
        assert (await client.get("/mcp")).status_code == 200
