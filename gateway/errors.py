"""JSON errors: every refusal names the problem; no stack trace ever leaves the process."""

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class JSONBody(Response):
    """A JSON response rendered once with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialise the content."""
        return orjson.dumps(content)


class ApiError(Exception):
    """A refusal with its status code, short reason, and detail for the caller."""

    def __init__(
        self, status: int, error: str, detail: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers or {}


def error_response(
    status: int, error: str, detail: Any = None, headers: dict[str, str] | None = None
) -> JSONBody:
    """The one error body shape: {"error": ..., "detail": ...}."""
    return JSONBody({"error": error, "detail": detail}, status_code=status, headers=headers)


def field_problems(exc: ValidationError | RequestValidationError) -> list[dict[str, str]]:
    """Each validation error as the dotted field path and the problem."""
    problems = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"] if part not in ("body", "query")]
        problems.append({"field": ".".join(loc) or "(body)", "problem": err["msg"]})
    return problems


def install(app: FastAPI, *, retry_after_s: int) -> None:
    """Register the handlers that turn every failure into a JSON error."""

    async def on_api_error(_: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.error, exc.detail, exc.headers)

    async def on_validation(_: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, "invalid request", field_problems(exc))

    async def on_http(_: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(exc.status_code, str(exc.detail), None, dict(exc.headers or {}))

    async def on_redis(_: Request, exc: Exception) -> JSONBody:
        # Alertmanager retries 5xx only: 503 + Retry-After keeps the notification alive.
        log.warning("redis unavailable: %s", exc)
        headers = {"Retry-After": str(retry_after_s)}
        return error_response(503, "storage unavailable, retry later", None, headers)

    async def on_unexpected(_: Request, exc: Exception) -> JSONBody:
        log.exception("unexpected error", exc_info=exc)
        return error_response(500, "internal error")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RedisError, on_redis)
    app.add_exception_handler(Exception, on_unexpected)
