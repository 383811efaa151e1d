"""Optional bearer tokens, compared in constant time: the writers' (intake) and the readers'.

`check_token` guards intake with `CORTEX_WEBHOOK_TOKEN`. Reading the memory has its own token,
`CORTEX_READ_TOKEN`, so an assistant that may search cannot write and Alertmanager's token
cannot read: `require_reader` is the FastAPI dependency of the read routes, and `ReaderGate`
the same check as a plain ASGI wrapper for apps mounted beside FastAPI's routes (`/mcp`).
"""

import logging
import secrets

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import ApiError, error_response
from gateway.metrics import READ_UNAUTHORIZED, UNAUTHORIZED

log = logging.getLogger(__name__)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_REFUSED = "missing or wrong bearer token"


def token_matches(authorization: str, expected: str | None) -> bool:
    """Whether an Authorization header value carries the expected bearer token (or none is set)."""
    if expected is None:
        return True
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(given.encode(), expected.encode())


def check_token(request: Request, expected: str | None) -> None:
    """Pass when no token is configured or the bearer token matches; else a logged 401."""
    if token_matches(request.headers.get("authorization", ""), expected):
        return
    # Alertmanager drops a notification answered 4xx: a wrong token loses alerts silently
    # unless someone watches this counter.
    UNAUTHORIZED.inc()
    _log_refusal(request.url.path, request.client.host if request.client else "?")
    raise ApiError(401, _REFUSED, None, _CHALLENGE)


def require_reader(request: Request) -> None:
    """FastAPI dependency: the read token (`CORTEX_READ_TOKEN`) when one is configured."""
    expected = request.app.state.cortex.settings.read_token
    if token_matches(request.headers.get("authorization", ""), expected):
        return
    # Counted apart from the writers' refusals, which page someone: alerts are being lost.
    READ_UNAUTHORIZED.inc()
    _log_refusal(request.url.path, request.client.host if request.client else "?")
    raise ApiError(401, _REFUSED, None, _CHALLENGE)


class ReaderGate:
    """ASGI wrapper refusing HTTP requests without the read token with the JSON 401.

    For an app mounted in the gateway that FastAPI's dependencies do not reach:
    `app.mount("/mcp", ReaderGate(mcp_app, settings.read_token))`. Lifespan and other
    non-HTTP scopes pass through untouched.
    """

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self._token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on when its bearer token matches; answer 401 otherwise."""
        if scope["type"] == "http" and not token_matches(_header(scope), self._token):
            READ_UNAUTHORIZED.inc()
            client = scope.get("client")
            _log_refusal(scope.get("path", "?"), client[0] if client else "?")
            await error_response(401, _REFUSED, None, _CHALLENGE)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _header(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return bytes(value).decode("latin-1")
    return ""


def _log_refusal(path: str, client: str) -> None:
    log.warning("refused %s from %s: missing or wrong bearer token", path, client)
