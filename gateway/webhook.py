"""`POST /v1/alerts/alertmanager` as a plain ASGI handler in front of the FastAPI app.

This is the path that must stay cheap when the node is on fire: every alert notification goes
through it, and its CPU is load on a node that may be the one in trouble. FastAPI's routing,
dependency solving and exception middleware cost about as much per request as the whole
intake itself, so this one route skips them. It keeps the same contract: the same body and
token checks, the same JSON errors (4xx naming the field, 503 with `Retry-After` when Redis
cannot store), and one atomic script call per request.
"""

import logging

from fastapi import FastAPI
from redis.exceptions import RedisError
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope, Send

from common.alertmanager import Notification
from gateway.auth import check_token
from gateway.body import parse, read_body
from gateway.errors import ApiError, JSONBody, error_response
from gateway.intake import alert_offer
from gateway.metrics import ITEMS
from gateway.state import State

PATH = "/v1/alerts/alertmanager"
log = logging.getLogger(__name__)


class AlertWebhook:
    """Answers the alert webhook itself; every other request (and the lifespan) goes on to
    the FastAPI app, whose lifespan creates the state this handler uses."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        # Set by the app's lifespan before the first request; looked up once.
        self._state: State | None = None
        self._accepted = ITEMS.labels("alert", "accepted")
        self._updated = ITEMS.labels("alert", "updated")
        self._duplicates = ITEMS.labels("alert", "duplicate")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle the webhook path; pass anything else through."""
        if scope["type"] != "http" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        if self._state is None:
            self._state = self.app.state.cortex
        state = self._state
        try:
            response = await self._receive(scope, receive, state)
        except ClientDisconnect:
            return  # nobody is left to answer, and nothing was written
        except ApiError as exc:
            response = error_response(exc.status, exc.error, exc.detail, exc.headers)
        except RedisError as exc:
            # Alertmanager retries 5xx only: 503 + Retry-After keeps the notification alive.
            log.warning("redis unavailable: %s", exc)
            headers = {"Retry-After": str(state.settings.retry_after_s)}
            response = error_response(503, "storage unavailable, retry later", None, headers)
        await response(scope, receive, send)

    async def _receive(self, scope: Scope, receive: Receive, state: State) -> JSONBody:
        """202 once every alert is queued or known.

        Never 429: Alertmanager does not retry it, so a refused alert would be a lost alert.
        The alert backlog is bounded by dedup and storm coalescing instead.
        """
        if scope["method"] != "POST":
            raise ApiError(405, "method not allowed", None, {"Allow": "POST"})
        settings = state.settings
        request = Request(scope, receive)
        check_token(request, settings.webhook_token)
        notification = parse(Notification, await read_body(request, limit=settings.max_body_bytes))
        offer = alert_offer(notification, settings, state.storms, state.pressure)
        outcome = await state.enqueuer.offer(offer)
        self._accepted.inc(outcome.accepted)
        self._updated.inc(outcome.updated)
        self._duplicates.inc(outcome.duplicates)
        body = {
            "accepted": outcome.accepted,
            "updated": outcome.updated,
            "duplicates": outcome.duplicates,
            "truncated_alerts": notification.truncated_alerts,
        }
        return JSONBody(body, status_code=202)
