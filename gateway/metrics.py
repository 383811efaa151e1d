"""Prometheus metrics of the gateway, and a pure ASGI middleware that records requests."""

import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("cortex_gateway_requests_total", "HTTP requests", ["route", "status"])
LATENCY = Histogram(
    "cortex_gateway_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ITEMS = Counter(
    "cortex_gateway_items_total", "Items offered by kind and outcome", ["kind", "outcome"]
)
UNAUTHORIZED = Counter(
    "cortex_gateway_unauthorized_total",
    "Requests refused for a missing or wrong token (Alertmanager drops these silently)",
)
READ_UNAUTHORIZED = Counter(
    "cortex_gateway_read_unauthorized_total",
    "Reads of the memory (search, recall, /mcp) refused for a missing or wrong read token",
)
SEARCHES = Counter("cortex_gateway_searches_total", "Interactive searches by outcome", ["outcome"])

# Routes with an id in their path share one label each.
_PREFIXES = {"/v1/conversations/": "/v1/conversations/{id}"}
_ROUTES = frozenset(
    {
        "/v1/alerts/alertmanager",
        "/v1/chats",
        "/v1/chats/known",
        "/v1/search",
        "/v1/recall",
        "/v1/alerts/history",
        "/mcp",
        "/v1/stats",
        "/healthz",
        "/readyz",
    }
)


class MetricsMiddleware:
    """Counts requests per known route and status; unknown paths share one label."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Label lookups take a lock and build tuples: done once per route and status.
        self._counted: dict[tuple[str, int], Any] = {}
        routes = (*_ROUTES, *_PREFIXES.values(), "other")
        self._timed = {route: LATENCY.labels(route) for route in routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through, timing it and recording its status."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = _route(scope["path"])
        status = 500
        started = time.perf_counter()

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            counter = self._counted.get((route, status))
            if counter is None:
                counter = self._counted[route, status] = REQUESTS.labels(route, str(status))
            counter.inc()
            self._timed[route].observe(time.perf_counter() - started)


def _route(path: str) -> str:
    """The route label of a path: itself when known, its pattern, or "other"."""
    if path in _ROUTES:
        return path
    return next((label for p, label in _PREFIXES.items() if path.startswith(p)), "other")
