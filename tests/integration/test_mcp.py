"""The MCP server as assistants meet it: the SDK's own client against a running stack.

Over streamable HTTP at the gateway's /mcp (both protocol eras: the 2026 discover and the
initialize handshake LibreChat's client uses) and over stdio through `cortex mcp`, spawned as
`python -m common.cli mcp`. A wrong token is refused; bad arguments are error results, and the
server goes on answering.
"""

import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
import redis
import requests
import yaml
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

from common.cli.redisserver import RedisServer
from common.embedding.devembedder import DevEmbedder
from tests.support import payloads
from tests.support.stack import Stack

pytestmark = pytest.mark.anyio
TOKEN = "reader-s3cret"
LIBRECHAT = Path(__file__).resolve().parents[2] / "deploy" / "librechat" / "librechat.yaml"
TOOLS = {"search_memory", "recall_incident", "alert_history", "get_conversation"}


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
    embedder_server: DevEmbedder,
) -> Iterator[Stack]:
    """One stack for the module: an alert and a conversation stored, reads behind TOKEN."""
    redis.Redis.from_url(redis_server.url).flushall()
    embedder_server.configure(delay_s=0, per_input_delay_s=0, error_rate=0, fail_next=0)
    stack = Stack(tmp_path_factory.mktemp("mcp"), redis_server, embedder_server,
                  CORTEX_READ_TOKEN=TOKEN)  # fmt: skip
    try:
        stack.full()
        assert stack.post("/v1/alerts/alertmanager", payloads.notification(payloads.alert())).ok
        assert stack.post("/v1/chats", payloads.chat_batch("conv-1", 2)).ok
        stack.wait_stored("alert", 1)
        stack.wait_stored("chat", 2)
        yield stack
    finally:
        stack.close()


@asynccontextmanager
async def over_http(
    stack: Stack, *, token: str = TOKEN, mode: str = "auto", statuses: list[int] | None = None
) -> AsyncIterator[Client]:
    """The SDK's client of the gateway's /mcp, sending a bearer token; `statuses` collects
    the HTTP status of every answer."""

    async def record(response: httpx2.Response) -> None:
        if statuses is not None:
            statuses.append(response.status_code)

    headers = {"Authorization": f"Bearer {token}"}
    hooks = {"response": [record]}
    async with httpx2.AsyncClient(headers=headers, timeout=30, event_hooks=hooks) as http:
        transport = streamable_http_client(f"{stack.gateway_url}/mcp", http_client=http)
        async with Client(transport, mode=mode) as client:
            yield client


@asynccontextmanager
async def over_stdio(stack: Stack, tmp: Path) -> AsyncIterator[Client]:
    """The SDK's client of `cortex mcp`, which it starts itself."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "common.cli", "mcp"], cwd=tmp,
        env={"CORTEX_GATEWAY_URL": stack.gateway_url, "CORTEX_READ_TOKEN": TOKEN},
    )  # fmt: skip
    async with Client(params) as client:
        yield client


def text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


async def search_answers(client: Client) -> None:
    """search_memory finds the stored alert: readable text and the gateway's JSON."""
    result = await client.call_tool("search_memory", {"query": "mailu front crash looping",
                                                      "kind": "alert", "limit": 3})  # fmt: skip
    assert not result.is_error, text(result)
    assert "KubePodCrashLooping mail/mailu-front-7d9c5 [firing]" in text(result)
    structured: dict[str, Any] = result.structured_content or {}
    assert structured["results"][0]["payload"]["fingerprint"] == "0f1e2d3c4b5a6978"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_http_client_lists_the_four_tools_and_searches(stack: Stack, mode: str) -> None:
    async with over_http(stack, mode=mode) as client:
        era = MODERN_PROTOCOL_VERSIONS if mode == "auto" else HANDSHAKE_PROTOCOL_VERSIONS
        assert client.protocol_version in era
        tools = (await client.list_tools()).tools
        assert {tool.name for tool in tools} == TOOLS
        for tool in tools:
            assert tool.description and len(tool.description) > 80, tool.name
            assert tool.annotations and tool.annotations.read_only_hint
        await search_answers(client)


async def test_search_memory_finds_chats_with_their_conversation(stack: Stack) -> None:
    async with over_http(stack) as client:
        result = await client.call_tool("search_memory", {"query": "qdrant snapshots",
                                                          "kind": "chat"})  # fmt: skip
    assert not result.is_error, text(result)
    assert '"Notes conv-1"' in text(result)
    hits = (result.structured_content or {})["results"]
    assert {hit["payload"]["conversation_id"] for hit in hits} == {"conv-1"}


async def test_a_wrong_token_is_refused(stack: Stack) -> None:
    statuses: list[int] = []
    with pytest.raises(Exception, match="TaskGroup") as refused:
        async with over_http(stack, token="wrong", statuses=statuses):
            pass
    assert refused.group_contains(MCPError, depth=2)
    assert statuses and set(statuses) == {401}
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = requests.post(stack.gateway_url + "/mcp", json=listing,
                                 headers=headers, timeout=10)  # fmt: skip
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "missing or wrong bearer token"


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("search_memory", {}),
        ("search_memory", {"query": ""}),
        ("search_memory", {"query": "disk", "limit": 0}),
        ("search_memory", {"query": "disk", "kind": "pod"}),
        ("recall_incident", {}),
        ("recall_incident", {"fingerprint": "0f1e2d3c4b5a6978", "text": "both"}),
        ("alert_history", {"namespace": "mail"}),
        ("get_conversation", {"conversation_id": ""}),
        ("no_such_tool", {}),
    ],
)
async def test_bad_arguments_are_error_results_and_the_server_goes_on(
    stack: Stack, tool: str, arguments: dict[str, Any]
) -> None:
    async with over_http(stack) as client:
        result = await client.call_tool(tool, arguments)
        assert result.is_error, text(result)
        assert text(result)
        await search_answers(client)


async def test_hosts_other_than_the_configured_names_are_refused(stack: Stack) -> None:
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json, text/event-stream"}
    url = stack.gateway_url + "/mcp"
    foreign = requests.post(url, json=ping, headers={**headers, "Host": "evil.example:8080"},
                            timeout=10)  # fmt: skip
    assert foreign.status_code == 421
    librechat = yaml.safe_load(LIBRECHAT.read_text())["mcpServers"]["cluster-cortex"]["url"]
    for host in ("cortex-gateway:8080", "gateway:8080", urlsplit(librechat).netloc):
        answered = requests.post(url, json=ping, headers={**headers, "Host": host}, timeout=10)
        assert answered.status_code == 200, (host, answered.text)


async def test_cortex_mcp_over_stdio_answers_the_same_client(stack: Stack, tmp_path: Path) -> None:
    async with over_stdio(stack, tmp_path) as client:
        assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
        await search_answers(client)
        bad = await client.call_tool("search_memory", {"query": "disk", "limit": 500})
        assert bad.is_error
        await search_answers(client)
