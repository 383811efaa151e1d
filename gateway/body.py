"""Reading a JSON body safely: content type checked, size capped before it is read whole."""

from typing import TypeVar

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


async def read_body(request: Request, *, limit: int) -> bytes:
    """The raw JSON body; refused (413) as soon as it passes `limit` bytes."""
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
    return b"".join(chunks)


def parse(model: type[M], body: bytes) -> M:
    """Parse and validate in one pass (pydantic's JSON parser builds no dicts on the way).

    Malformed JSON is a 400; valid JSON that breaks the schema is a 422 naming each field.
    """
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise ApiError(400, "malformed JSON", str(exc.errors()[0]["msg"])) from None
        raise ApiError(422, "invalid payload", field_problems(exc)) from None
