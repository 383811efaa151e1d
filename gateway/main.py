"""The gateway application: `uvicorn --factory gateway.main:create_app`."""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp

from common.settings import GatewaySettings, get_gateway_settings
from gateway import errors, known, mcp, reading
from gateway.metrics import MetricsMiddleware
from gateway.routes import router
from gateway.state import open_state
from gateway.webhook import AlertWebhook


def create_app(settings: GatewaySettings | None = None) -> ASGIApp:
    """Build the app; settings are validated here, clients created in the lifespan.

    The alert webhook sits in front of FastAPI (see gateway/webhook.py), and the metrics
    middleware in front of both; /mcp is the MCP server (gateway/mcp.py), run by the lifespan.
    """
    settings = settings or get_gateway_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_state(settings) as state, serving_mcp():
            app.state.cortex = state
            # Everything built so far (modules, the app, clients) lives as long as the
            # process. Frozen, it is left out of full collections, which otherwise walk
            # ~80,000 objects and stall every request in flight for tens of milliseconds.
            gc.freeze()
            yield

    app = FastAPI(title="cluster-cortex gateway", lifespan=lifespan, docs_url=None, redoc_url=None)
    errors.install(app, retry_after_s=settings.retry_after_s)
    app.include_router(router)
    app.include_router(known.router)
    app.include_router(reading.router)
    serving_mcp = mcp.mount(app, settings)
    logging.getLogger(__name__).info("gateway configured for %s", settings.redis_url)
    return MetricsMiddleware(AlertWebhook(app))
