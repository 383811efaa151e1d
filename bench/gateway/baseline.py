"""The baseline server: a bare FastAPI endpoint that reads the body and does one LPUSH.

Run as `python -m bench.gateway.baseline --port N --redis-url URL`: uvicorn with the settings
`cortex gateway` uses (one process, uvicorn's default loop and HTTP implementation, no access
log), so the difference to the gateway is what the gateway does per request.
"""

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI, Request, Response
from redis.asyncio import Redis

QUEUE = "bench:baseline"
_ANSWER = b'{"queued":1}'


def create_app(redis_url: str) -> FastAPI:
    """The app: `POST /v1/alerts/alertmanager` pushes the raw body; `GET /readyz` pings Redis."""
    clients: dict[str, Redis] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        clients["redis"] = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        yield
        await clients.pop("redis").aclose()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/v1/alerts/alertmanager", status_code=202)
    async def receive(request: Request) -> Response:
        await clients["redis"].lpush(QUEUE, await request.body())
        return Response(_ANSWER, status_code=202, media_type="application/json")

    @app.get("/readyz")
    async def readyz() -> Response:
        await clients["redis"].ping()
        return Response(b'{"status":"ready"}', media_type="application/json")

    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the baseline on 127.0.0.1 until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bench.gateway.baseline")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(args.redis_url), host="127.0.0.1", port=args.port, log_level="warning",
        access_log=False,
    )  # fmt: skip


if __name__ == "__main__":
    main()
