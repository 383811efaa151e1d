"""/mcp: the memory's MCP tools over streamable HTTP, served by the gateway itself.

The SDK's streamable HTTP app answers exactly /mcp (a mount would redirect /mcp to /mcp/ and
swallow the gateway's JSON 404s), behind the read token: `ReaderGate` answers the same JSON 401
as every read route. Its tools call the gateway's own read endpoints through
`httpx.ASGITransport` on the FastAPI app: no network hop, and the same validation, limits and
errors as any HTTP caller. Stateless, with JSON answers: any replica behind the Service can
answer any request, so no session has to stick to one pod.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from starlette.routing import Route

from common.mcp.client import MemoryClient, asgi_client
from common.mcp.server import build_server, transport_security
from common.settings import GatewaySettings
from gateway.auth import ReaderGate

PATH = "/mcp"


def mount(
    app: FastAPI, settings: GatewaySettings
) -> Callable[[], AbstractAsyncContextManager[None]]:
    """Serve the MCP server at /mcp; the returned context runs it (enter it in the lifespan)."""
    http = asgi_client(app, token=settings.read_token)
    server = build_server(MemoryClient(http))
    transport = server.streamable_http_app(
        streamable_http_path=PATH, stateless_http=True, json_response=True,
        transport_security=transport_security(settings.mcp_allowed_hosts),
    )  # fmt: skip
    app.router.routes.append(Route(PATH, endpoint=ReaderGate(transport, settings.read_token)))

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        async with http, server.session_manager.run():
            yield

    return running
