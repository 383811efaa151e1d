"""The MCP server as assistants meet it: the SDK's own client against a running stack.

Over streamable HTTP at the gateway's /mcp (both protocol eras: the 2026 discover and the
initialize handshake LibreChat's client uses) and over stdio through `cortex mcp`, spawned as
`python -m common.cli mcp`. A wrong token is refused; bad arguments are error results, and the
server goes on answering.
"""

import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
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
from tests.support import incident
from tests.support.stack import Stack

pytestmark = pytest.mark.anyio
TOKEN = "reader-s3cret"
NOW = datetime.now(UTC).replace(microsecond=0)
ALERTS = incident.alerts(NOW)
LIBRECHAT = Path(__file__).resolve().parents[2] / "deploy" / "librechat" / "librechat.yaml"
TOOLS = {"search_memory", "recall_incident", "alert_history", "get_conversation"}


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
    embedder_server: DevEmbedder,
) -> Iterator[Stack]:
    """One stack for the module: issue 13's incident stored, reads behind TOKEN."""
    redis.Redis.from_url(redis_server.url).flushall()
    embedder_server.configure(delay_s=0, per_input_delay_s=0, error_rate=0, fail_next=0)
    stack = Stack(tmp_path_factory.mktemp("mcp"), redis_server, embedder_server,
                  CORTEX_READ_TOKEN=TOKEN)  # fmt: skip
    try:
        stack.full()
        incident.store(stack, NOW)
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
    """search_memory finds the crash loops: readable text and the gateway's JSON."""
    arguments = {"query": "mailu front crash looping", "kind": "alert", "limit": 3}
    result = await client.call_tool("search_memory", arguments)
    assert not result.is_error, text(result)
    assert "- " in text(result) and "KubePodCrashLooping mail/mailu-front-" in text(result)
    structured: dict[str, Any] = result.structured_content or {}
    crash_loops = {incident.FIRST_FP, incident.RECREATED_FP}
    assert structured["results"][0]["payload"]["fingerprint"] in crash_loops


async def recall_answers(client: Client) -> None:
    """recall_incident of the newest crash loop: every section, in text and structure."""
    arguments = {"fingerprint": incident.RECREATED_FP}
    result = await client.call_tool("recall_incident", arguments)
    assert not result.is_error, text(result)
    card = text(result)
    assert card.startswith("Recall for KubePodCrashLooping mail/mailu-front [resolved]")
    assert "This alert before (rare): 2 in the last 7 days, 3 in 30" in card
    assert "Around it:\n- NodeMemoryPressure" in card
    assert "KubePodCrashLooping webmail/roundcube: 1 times" in card
    assert '"mailu-front crash loop"' in card and "timeoutSeconds to 10" in card
    answer: dict[str, Any] = result.structured_content or {}
    assert answer["alert"]["fingerprint"] == incident.RECREATED_FP
    assert len(answer["before"]["occurrences"]) == 3
    assert answer["discussed"][0]["conversation_id"] == incident.FIX_CONVERSATION


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_http_client_lists_the_four_tools_and_searches(stack: Stack, mode: str) -> None:
    async with over_http(stack, mode=mode) as client:
        era = MODERN_PROTOCOL_VERSIONS if mode == "auto" else HANDSHAKE_PROTOCOL_VERSIONS
        assert client.protocol_version in era
        assert client.server_info and client.server_info.name == "cluster-cortex"
        assert client.instructions and "recall_incident" in client.instructions
        tools = (await client.list_tools()).tools
        assert {tool.name for tool in tools} == TOOLS
        for tool in tools:
            assert tool.description and len(tool.description) > 80, tool.name
            assert tool.annotations and tool.annotations.read_only_hint
        await search_answers(client)


async def test_search_memory_finds_chats_with_their_conversation(stack: Stack) -> None:
    arguments = {"query": "grafana dashboard panel per team", "kind": "chat", "limit": 1}
    async with over_http(stack) as client:
        result = await client.call_tool("search_memory", arguments)
    assert not result.is_error, text(result)
    assert '"Grafana panels" (conversation_id conv-grafana)' in text(result)
    [hit] = (result.structured_content or {})["results"]
    assert hit["payload"]["conversation_id"] == "conv-grafana"


async def test_recall_incident_answers_for_a_fingerprint_without_embedding(stack: Stack) -> None:
    async with over_http(stack) as client:
        stack.embedder.reset_stats()
        await recall_answers(client)
        # A stored alert is recalled with its stored vectors, through MCP as over HTTP.
        assert stack.embedder.stats()["calls"] == 0


async def test_recall_incident_takes_the_alert_whole_or_a_text(stack: Stack) -> None:
    async with over_http(stack) as client:
        posted = await client.call_tool("recall_incident", {"alert": ALERTS[2], "limit": 5})
        assert not posted.is_error, text(posted)
        assert (posted.structured_content or {})["alert"]["fingerprint"] == incident.RECREATED_FP
        words = {"text": "roundcube keeps restarting", "namespace": "webmail", "since": "30d"}
        described = await client.call_tool("recall_incident", words)
    assert not described.is_error, text(described)
    assert text(described).startswith("Recall for {'text': 'roundcube keeps restarting'")
    answer = described.structured_content or {}
    assert answer["alert"] is None
    assert {group["namespace"] for group in answer["similar"]} == {"webmail"}


async def test_alert_history_and_get_conversation_answer(stack: Stack) -> None:
    async with over_http(stack) as client:
        arguments = {"alertname": incident.CRASH, "namespace": "mail", "workload": "mailu-front"}
        history = await client.call_tool("alert_history", arguments)
        recent = await client.call_tool("alert_history", {"alertname": incident.CRASH,
                                                          "since": "7d"})  # fmt: skip
        conversation = await client.call_tool(
            "get_conversation", {"conversation_id": incident.FIX_CONVERSATION}
        )
    assert not history.is_error, text(history)
    assert text(history).startswith("This alert before")
    assert len((history.structured_content or {})["occurrences"]) == 3
    namespaces = {o["namespace"] for o in (recent.structured_content or {})["occurrences"]}
    assert namespaces == {"mail", "webmail"}
    assert not conversation.is_error, text(conversation)
    assert text(conversation).startswith('Conversation "mailu-front crash loop"')
    assert incident.FIX_TEXT in text(conversation)
    messages = (conversation.structured_content or {})["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]


async def test_refusals_of_the_gateway_are_error_results(stack: Stack) -> None:
    async with over_http(stack) as client:
        unknown = await client.call_tool("recall_incident", {"fingerprint": "ffffffffffffffff"})
        assert unknown.is_error and "gateway answered 404" in text(unknown)
        since = await client.call_tool("search_memory", {"query": "disk", "since": "tuesday"})
        assert since.is_error and "422" in text(since) and "since" in text(since)
        await search_answers(client)


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
        ("recall_incident", {"alert": {"labels": {"alertname": "X"}}}),
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


async def test_malformed_requests_to_mcp_are_4xx(stack: Stack) -> None:
    url, auth = stack.gateway_url + "/mcp", {"Authorization": f"Bearer {TOKEN}"}
    accept = {**auth, "Accept": "application/json, text/event-stream"}
    garbage = requests.post(url, data=b"{not json", timeout=10,
                            headers={**accept, "Content-Type": "application/json"})  # fmt: skip
    wrong_type = requests.post(url, data=b"x", timeout=10,
                               headers={**accept, "Content-Type": "text/plain"})  # fmt: skip
    # Stateless: there is no session to end.
    ending = requests.delete(url, headers=auth, timeout=10)
    statuses = [r.status_code for r in (garbage, wrong_type, ending)]
    assert statuses == [400, 400, 405], statuses


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
        await recall_answers(client)
        bad = await client.call_tool("search_memory", {"query": "disk", "limit": 500})
        assert bad.is_error
        unknown = await client.call_tool("get_conversation", {"conversation_id": "nope"})
        assert unknown.is_error and "404" in text(unknown)
        await search_answers(client)
