"""The read API beside search: recall, alert history and conversations, behind the read token.

Every route validates its input here (a 422 names the field) and asks the store worker through
`gateway.recall.Recaller`; the answer bodies are `common.recall`'s models, so the OpenAPI schema
documents exactly what the store worker builds.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from common.alertmanager import Alert, Notification
from common.items import alert_item
from common.recall import (
    DEFAULT_LIMIT,
    DEFAULT_WINDOW_S,
    MAX_LIMIT,
    MAX_WINDOW_S,
    Before,
    Conversation,
    RecallAnswer,
)
from gateway.auth import require_reader
from gateway.body import parse, read_body
from gateway.errors import JSONBody
from gateway.recall import Recaller, invalid, parse_since

router = APIRouter(dependencies=[Depends(require_reader)], tags=["memory"])

_SELECTORS = ("fingerprint", "text", "alertname")
Since = Annotated[
    str | None, Query(description="ISO-8601 time, or a duration back from now: 24h, 7d")
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="entries per section at most")]
Name = Annotated[str | None, Query(min_length=1, max_length=200)]


class ErrorBody(BaseModel):
    """Every refusal: what is wrong, and for a 422 each field with its problem."""

    error: str
    detail: Any = None


class RecallBody(BaseModel):
    """`POST /v1/recall`: one alert as Alertmanager sends it; filters here or in the query."""

    model_config = ConfigDict(extra="forbid")

    alert: Alert
    since: str | None = None
    namespace: str | None = Field(default=None, min_length=1, max_length=200)
    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT)
    window_s: int | None = Field(default=None, ge=0, le=MAX_WINDOW_S)


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": what}
    for status, what in (
        (401, "missing or wrong read token (CORTEX_READ_TOKEN)"),
        (404, "no such stored alert or conversation"),
        (422, "invalid input; `detail` names each field"),
        (503, "the store worker or the embedder could not answer in time"),
    )
}


def _recaller(request: Request) -> Recaller:
    recaller: Recaller = request.app.state.cortex.recaller
    return recaller


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its `$defs` references resolved in place, for openapi_extra."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def _target(fingerprint: str | None, text: str | None, alertname: str | None,
            workload: str | None, namespace: str | None) -> dict[str, Any]:  # fmt: skip
    """The one selector asked for; a 422 naming the fields otherwise."""
    given = {k: v for k, v in zip(_SELECTORS, (fingerprint, text, alertname), strict=True) if v}
    if len(given) != 1:
        problem = "give exactly one of fingerprint, text (or q) and alertname"
        if given:
            problem += f"; got {' and '.join(given)}"
        raise invalid("|".join(given) or "|".join(_SELECTORS), problem)
    if workload is not None and alertname is None:
        raise invalid("workload", "workload selects an alert with alertname; give alertname too")
    if text is not None and not text.strip():
        raise invalid("text", "the text is empty")
    if alertname is None:
        return given
    return {"alertname": alertname, "namespace": namespace, "workload": workload}


@router.get("/v1/recall", response_model=RecallAnswer, responses=_ERRORS)
async def recall(
    request: Request,
    fingerprint: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    text: Annotated[str | None, Query(min_length=1, max_length=4000)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=4000, description="= text")] = None,
    alertname: Name = None,
    namespace: Name = None,
    workload: Name = None,
    since: Since = None,
    limit: Limit = DEFAULT_LIMIT,
    window_s: Annotated[int, Query(ge=0, le=MAX_WINDOW_S)] = DEFAULT_WINDOW_S,
) -> JSONBody:
    """An incident-shaped answer for a stored alert (by fingerprint, or its newest occurrence
    by alertname + namespace + workload) or for free text: before, around, similar, discussed.

    A stored alert costs no embedding call; free text costs one, under search's budget.
    """
    if text is not None and q is not None:
        raise invalid("text|q", "q is another name for text: give one")
    target = _target(fingerprint, text or q, alertname, workload, namespace)
    filters = {"since": parse_since(since), "namespace": namespace, "limit": limit,
               "window_s": window_s}  # fmt: skip
    answer = await _recaller(request).recall(target, filters)
    answer["query"] = {k: v for k, v in {**target, **filters}.items() if v is not None}
    return JSONBody(answer)


@router.post(
    "/v1/recall", response_model=RecallAnswer, responses=_ERRORS,
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": _inline(RecallBody.model_json_schema())}}}},
)  # fmt: skip
async def recall_alert(
    request: Request,
    since: Since = None,
    namespace: Name = None,
    limit: Limit = DEFAULT_LIMIT,
    window_s: Annotated[int, Query(ge=0, le=MAX_WINDOW_S)] = DEFAULT_WINDOW_S,
) -> JSONBody:
    """The same answer for an Alertmanager alert given whole (`{"alert": {...}}`): stored, it
    costs no embedding call; not stored yet, one (its text, under search's budget)."""
    settings = request.app.state.cortex.settings
    body = parse(RecallBody, await read_body(request, limit=settings.max_body_bytes))
    if not body.alert.labels.get("alertname"):
        raise invalid("alert.labels.alertname", "an Alertmanager alert names its alertname")
    item = alert_item(body.alert, Notification(alerts=[]))
    target = {"point_id": item.point_id, "payload": item.payload()}
    filters = {
        "since": parse_since(body.since or since),
        "namespace": body.namespace or namespace,
        "limit": body.limit or limit,
        "window_s": window_s if body.window_s is None else body.window_s,
    }
    answer = await _recaller(request).recall(target, filters)
    answer["query"] = {"fingerprint": item.fingerprint, "startsAt": item.starts_at,
                       **{k: v for k, v in filters.items() if v is not None}}  # fmt: skip
    return JSONBody(answer)


@router.get("/v1/alerts/history", response_model=Before, responses=_ERRORS)
async def alert_history(
    request: Request,
    alertname: Annotated[str, Query(min_length=1, max_length=200)],
    namespace: Name = None,
    workload: Name = None,
    since: Since = None,
    limit: Limit = DEFAULT_LIMIT,
) -> JSONBody:
    """Occurrences of one alert (a field left out matches any value), newest first, with
    counts for 7 and 30 days, the typical duration and the new/rare/frequent label."""
    fields = {"alertname": alertname, "namespace": namespace, "workload": workload,
              "since": parse_since(since), "limit": limit}  # fmt: skip
    return JSONBody(await _recaller(request).history(fields))


@router.get("/v1/conversations/{conversation_id}", response_model=Conversation,
            responses=_ERRORS)  # fmt: skip
async def get_conversation(
    request: Request, conversation_id: Annotated[str, Path(min_length=1, max_length=200)]
) -> JSONBody:
    """A stored conversation, its messages in order, each message's chunks joined."""
    return JSONBody(await _recaller(request).conversation(conversation_id))
