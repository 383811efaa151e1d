"""The gateway's read API as the MCP tools call it: one small httpx client, two transports.

Inside the gateway the client talks to the app itself through `httpx.ASGITransport` (no network
hop, the same validation and token check as any caller); `cortex mcp` talks HTTP to
CORTEX_GATEWAY_URL. Either way a tool sees the same answers and the same errors.
"""

from typing import Any
from urllib.parse import quote

import httpx
from starlette.types import ASGIApp

JSON = dict[str, Any]


class GatewayError(Exception):
    """The gateway refused or could not answer; the message says why, for the assistant."""


def http_client(base_url: str, *, token: str | None, timeout_s: float) -> httpx.AsyncClient:
    """A client of a gateway over the network, sending the read token when there is one."""
    return httpx.AsyncClient(base_url=base_url, headers=_auth(token), timeout=timeout_s)


def asgi_client(app: ASGIApp, *, token: str | None) -> httpx.AsyncClient:
    """A client of the gateway app in this process, through its whole ASGI stack."""
    # An app exception must come back as its 500 response, not be raised in the tool.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://gateway", headers=_auth(token))


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


class MemoryClient:
    """Search, recall, alert history and conversations, as the gateway answers them."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def search(self, query: str, **filters: Any) -> JSON:
        """GET /v1/search: ranked alerts and chat chunks."""
        return await self._call("GET", "/v1/search", params={"q": query, **filters})

    async def recall(self, **params: Any) -> JSON:
        """GET /v1/recall: the incident-shaped answer for a fingerprint or free text."""
        return await self._call("GET", "/v1/recall", params=params)

    async def recall_alert(self, alert: JSON, **params: Any) -> JSON:
        """POST /v1/recall: the same answer for an Alertmanager alert given whole."""
        return await self._call("POST", "/v1/recall", params=params, body={"alert": alert})

    async def alert_history(self, alertname: str, **filters: Any) -> JSON:
        """GET /v1/alerts/history: earlier occurrences of one alert."""
        params = {"alertname": alertname, **filters}
        return await self._call("GET", "/v1/alerts/history", params=params)

    async def conversation(self, conversation_id: str) -> JSON:
        """GET /v1/conversations/{id}: one stored conversation, its messages in order."""
        return await self._call("GET", f"/v1/conversations/{quote(conversation_id, safe='')}")

    async def _call(
        self, method: str, path: str, *, params: JSON | None = None, body: JSON | None = None
    ) -> JSON:
        given = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._http.request(method, path, params=given, json=body)
        except httpx.HTTPError as exc:
            raise GatewayError(f"gateway unreachable at {self._http.base_url}: {exc}") from None
        if response.status_code >= 400:
            raise GatewayError(_refusal(response))
        answer: JSON = response.json()
        return answer


def _refusal(response: httpx.Response) -> str:
    """The gateway's JSON error as one line: status, reason and what was wrong."""
    try:
        body = response.json()
    except ValueError:
        return f"gateway answered {response.status_code}: {response.text[:200]}"
    error, detail = body.get("error", ""), body.get("detail")
    if isinstance(detail, list):
        detail = "; ".join(f"{d.get('field')}: {d.get('problem')}" for d in detail)
    suffix = f" ({detail})" if detail else ""
    return f"gateway answered {response.status_code}: {error}{suffix}"
