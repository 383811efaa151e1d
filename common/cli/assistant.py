"""`cortex mcp`: the memory's MCP tools over stdio, for assistants that start their tools.

The same server as the gateway's /mcp, reading the memory over HTTP from CORTEX_GATEWAY_URL
with CORTEX_READ_TOKEN. Stdout carries the protocol alone; logs go to stderr.
"""

import anyio

from common.settings import CliSettings, get_cli_settings

# A recall or search waits for the gateway's own deadline (CORTEX_SEARCH_TIMEOUT_S) at most.
_TIMEOUT_S = 60.0


def mcp() -> None:
    """Serve the memory's MCP tools over stdio, read through the gateway at CORTEX_GATEWAY_URL.

    The tools: search_memory, recall_incident, alert_history, get_conversation. An assistant
    runs `cortex mcp` itself and talks to it on stdin and stdout; CORTEX_READ_TOKEN is sent
    to the gateway when set.
    """
    anyio.run(_serve, get_cli_settings())


async def _serve(settings: CliSettings) -> None:
    from common.mcp.client import MemoryClient, http_client
    from common.mcp.server import build_server

    client = http_client(settings.gateway_url, token=settings.read_token, timeout_s=_TIMEOUT_S)
    async with client:
        await build_server(MemoryClient(client)).run_stdio_async()
