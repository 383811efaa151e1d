"""Optional bearer token on intake endpoints, compared in constant time."""

import hmac
import logging

from fastapi import Request

from gateway.errors import ApiError
from gateway.metrics import UNAUTHORIZED

log = logging.getLogger(__name__)


def check_token(request: Request, expected: str | None) -> None:
    """Pass when no token is configured or the bearer token matches; else a logged 401."""
    if expected is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), expected.encode()):
        return
    # Alertmanager drops a notification answered 4xx: a wrong token loses alerts silently
    # unless someone watches this counter.
    UNAUTHORIZED.inc()
    log.warning(
        "refused %s from %s: missing or wrong bearer token",
        request.url.path,
        request.client.host if request.client else "?",
    )
    raise ApiError(401, "missing or wrong bearer token", None, {"WWW-Authenticate": "Bearer"})
