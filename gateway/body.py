"""Reading a JSON body safely: content type checked, size capped before it is read whole."""

from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from gateway.errors import ApiError, field_problems

M = TypeVar("M", bound=BaseModel)


def _check_headers(request: Request, limit: int) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(415, "unsupported media type", "send Content-Type: application/json")
    length = request.headers.get("content-length")
    if length is None:
        return
    if not length.isdigit():
        raise ApiError(400, "invalid Content-Length header", length[:50])
    if int(length) > limit:
        raise ApiError(413, "request body too large", {"limit_bytes": limit})


async def read_json(request: Request, *, limit: int) -> Any:
    """Parse the body as JSON; refuse it (413) as soon as it passes `limit` bytes."""
    _check_headers(request, limit)
    # The ASGI messages themselves: cheaper than Starlette's stream(), which the alert path
    # would pay on every request.
    chunks, size, more = [], 0, True
    while more:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "request body too large", {"limit_bytes": limit})
        chunks.append(chunk)
        more = message.get("more_body", False)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "malformed JSON", str(exc)) from None


def validate(model: type[M], data: Any) -> M:
    """Validate parsed JSON against a model; a 422 names each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid payload", field_problems(exc)) from None
