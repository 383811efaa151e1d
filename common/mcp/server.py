"""The MCPServer and its four read-only tools; each answers with text and structured content.

A tool's arguments are checked against its schema (the SDK turns a bad one into an error
result, and the server keeps serving); it asks the gateway through `MemoryClient` and returns
the gateway's JSON as structured content beside a readable summary. A gateway refusal (a 4xx
naming the field, an unknown fingerprint, a busy embedder) becomes an error result carrying
the gateway's reason. Each tool's docstring is the description the assistant reads.
"""

import logging
from collections.abc import Awaitable, Callable
from importlib import metadata
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from common.mcp import summaries
from common.mcp.client import JSON, GatewayError, MemoryClient

INSTRUCTIONS = (
    "cluster-cortex is the memory of a Kubernetes cluster: the Alertmanager alerts it received "
    "and the chat conversations about them. Use recall_incident first for an alert firing now "
    "(has it fired before, what fired around it, what was said when it was fixed), "
    "search_memory for a question in words, alert_history for how often one alert fired, and "
    "get_conversation to read a whole conversation that a result points to."
)
_READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)

Query = Annotated[
    str,
    Field(description="What to look for: words, or identifiers pasted verbatim (pod, node, "
          "PVC names).", min_length=1, max_length=4000),
]  # fmt: skip
Kind = Annotated[
    Literal["alert", "chat"] | None, Field(description="Only alerts, or only chat messages.")
]
Limit = Annotated[int, Field(description="How many results at most.", ge=1, le=50)]
Since = Annotated[
    str | None,
    Field(description="Only what started at or after this time: RFC 3339 "
          "(2026-04-01T00:00:00Z) or a duration back from now (90m, 24h, 7d).", max_length=64),
]  # fmt: skip
Namespace = Annotated[
    str | None, Field(description="Only this Kubernetes namespace.", min_length=1, max_length=253)
]
Fingerprint = Annotated[
    str | None,
    Field(description="The alert's Alertmanager fingerprint.", min_length=1, max_length=64),
]
AlertBody = Annotated[
    dict[str, Any] | None,
    Field(description="One alert as Alertmanager sends it: labels, annotations, startsAt, ..."),
]
Text = Annotated[
    str | None, Field(description="The incident in words.", min_length=1, max_length=4000)
]
AlertName = Annotated[
    str, Field(description="The alert's name, e.g. KubePodCrashLooping.", min_length=1,
               max_length=256)
]  # fmt: skip
Workload = Annotated[
    str | None,
    Field(description="Only this workload: Deployment, StatefulSet, DaemonSet or pod name.",
          min_length=1, max_length=253),
]  # fmt: skip
ConversationId = Annotated[
    str, Field(description="The conversation's id, as a search or recall result gives it.",
               min_length=1, max_length=512)
]  # fmt: skip


async def _answer(call: Awaitable[JSON], text: Callable[[JSON], str]) -> CallToolResult:
    """The gateway's answer as a tool result; its refusal as the tool's error."""
    try:
        answer = await call
    except GatewayError as exc:
        raise ToolError(str(exc)) from None
    return CallToolResult(
        content=[TextContent(type="text", text=text(answer))], structured_content=answer
    )


class MemoryTools:
    """The tools, bound to one gateway client."""

    def __init__(self, client: MemoryClient) -> None:
        self._client = client

    async def search_memory(
        self, query: Query, kind: Kind = None, limit: Limit = 10, since: Since = None
    ) -> CallToolResult:
        """Search the cluster's memory (past Alertmanager alerts and chat conversations) by
        meaning and by identifiers pasted verbatim. Returns the best matches with their scores:
        alerts with name, labels, status, start and end; chat messages with their
        conversation's id and title (read one whole with get_conversation)."""
        call = self._client.search(query, kind=kind, limit=limit, since=since)
        return await _answer(call, summaries.search_text)

    async def recall_incident(
        self, fingerprint: Fingerprint = None, alert: AlertBody = None, text: Text = None,
        since: Since = None, namespace: Namespace = None, limit: Limit | None = None,
    ) -> CallToolResult:  # fmt: skip
        """Recall what the memory knows about one incident. Give exactly one of: the alert's
        fingerprint, the alert itself as Alertmanager sends it, or a description in words.
        Answers with: this alert before (earlier occurrences with durations, counts in the last
        7 and 30 days, new / rare / frequent), other alerts that started around it, similar
        alerts elsewhere, and what was said about it in chats, which often holds the fix."""
        given = [n for n, v in (("fingerprint", fingerprint), ("alert", alert), ("text", text))
                 if v is not None]  # fmt: skip
        if len(given) != 1:
            raise ToolError(f"give exactly one of fingerprint, alert or text, not {given}")
        filters = {"since": since, "namespace": namespace, "limit": limit}
        if alert is not None:
            call = self._client.recall_alert(alert, **filters)
        else:
            asked = {"fingerprint": fingerprint} if fingerprint else {"text": text}
            call = self._client.recall(**asked, **filters)
        return await _answer(call, summaries.recall_text)

    async def alert_history(
        self, alertname: AlertName, namespace: Namespace = None, workload: Workload = None,
        since: Since = None,
    ) -> CallToolResult:  # fmt: skip
        """How often one alert fired and for how long: its occurrences (start, end, duration,
        status), counts in the last 7 and 30 days and the typical duration. A workload is
        matched without its generated pod suffix, so a re-created pod counts as the same."""
        call = self._client.alert_history(
            alertname, namespace=namespace, workload=workload, since=since
        )
        return await _answer(call, summaries.history_text)

    async def get_conversation(self, conversation_id: ConversationId) -> CallToolResult:
        """Read one stored chat conversation whole: its title and every message in order, with
        role and time. Use the conversation_id a search_memory or recall_incident result gave."""
        return await _answer(
            self._client.conversation(conversation_id), summaries.conversation_text
        )

    def all(self) -> list[Callable[..., Awaitable[CallToolResult]]]:
        """Every tool, in the order a client lists them."""
        return [self.search_memory, self.recall_incident, self.alert_history, self.get_conversation]


def build_server(client: MemoryClient) -> MCPServer:
    """The MCP server whose tools read the memory through `client`."""
    version = metadata.version("cluster-cortex")
    server = _unlogged(
        lambda: MCPServer("cluster-cortex", version=version, instructions=INSTRUCTIONS)
    )
    for tool in MemoryTools(client).all():
        server.add_tool(tool, description=_description(tool), annotations=_READ_ONLY)
    return server


def _unlogged(build: Callable[[], MCPServer]) -> MCPServer:
    """Build the server leaving the process's logging as it was.

    MCPServer's constructor calls `logging.basicConfig` with a Rich handler when the root
    logger has none: the gateway's log lines would become wrapped, multi-line Rich output.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return build()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _description(tool: Callable[..., Any]) -> str:
    return " ".join((tool.__doc__ or "").split())


def transport_security(hosts: str) -> TransportSecuritySettings:
    """DNS-rebinding protection answering these comma-separated host names on any port.

    A browser tricked into calling /mcp sends a foreign Host or Origin; an assistant calling it
    by the Service's name does not. "*" turns the check off.
    """
    names = [name.strip() for name in hosts.split(",") if name.strip()]
    if "*" in names:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    return TransportSecuritySettings(
        allowed_hosts=[form for name in names for form in (name, f"{name}:*")],
        allowed_origins=[
            f"{scheme}://{name}{port}"
            for name in names
            for scheme in ("http", "https")
            for port in ("", ":*")
        ],
    )
