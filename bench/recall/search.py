"""Questions through `GET /v1/search`: which modes it takes, and the ranked items it answers.

A conversation is stored as one point per message chunk, so several hits can name one
conversation; a ranking counts each item once, at its best place, as an SRE reads it.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.recall.stack import RecallStack

MODES = ("dense", "sparse", "hybrid")
# Enough hits that the first ten distinct items survive a conversation's many chunks.
HITS_ASKED = 50
_RETRIES = 5


class ModeRefused(Exception):
    """The gateway answered 422 to a `mode` or `fusion` value: it cannot search that way yet."""


@dataclass(frozen=True)
class Answer:
    """Distinct items, best first, and the round trip's latency."""

    ranked: list[str]
    latency_s: float


def declared(openapi: Mapping[str, Any], name: str) -> tuple[str, ...] | None:
    """The values `GET /v1/search` declares for a query parameter; None when it has none.

    An empty tuple: the parameter exists but its schema lists no values.
    """
    operation = openapi.get("paths", {}).get("/v1/search", {}).get("get", {})
    for param in operation.get("parameters", []):
        if param.get("name") == name:
            return tuple(sorted(_enum(param.get("schema", {}), openapi)))
    return None


def search_modes(openapi: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The `mode` values `GET /v1/search` declares; None when it takes no `mode` at all."""
    values = declared(openapi, "mode")
    if values is None:
        return None
    return tuple(m for m in MODES if m in values) if values else MODES


def _enum(schema: Mapping[str, Any], openapi: Mapping[str, Any]) -> set[str]:
    """Every enum or const value under a schema, through $ref and anyOf/oneOf/allOf."""
    if ref := schema.get("$ref"):
        target: Any = openapi
        for part in str(ref).removeprefix("#/").split("/"):
            target = target.get(part, {})
        return _enum(target, openapi)
    values = {str(v) for v in schema.get("enum", [])}
    if "const" in schema:
        values.add(str(schema["const"]))
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            values |= _enum(sub, openapi)
    return values


def ask(
    stack: RecallStack, text: str, ids: Mapping[tuple[str, str], str], **params: str | int
) -> Answer:
    """Ask once (a 503 is retried after its Retry-After); ModeRefused on a 422 for `params`."""
    query: dict[str, str | int] = {"q": text, **params}
    reply = None
    for _ in range(_RETRIES):
        started = time.perf_counter()
        reply = stack.search(query)
        latency_s = time.perf_counter() - started
        if reply.status_code == 503:
            time.sleep(min(5.0, float(reply.headers.get("Retry-After", "1"))))
            continue
        if reply.status_code == 422 and params:
            raise ModeRefused(reply.text[:300])
        reply.raise_for_status()
        return Answer(ranked(reply.json()["results"], ids), latency_s)
    body = reply.text[:500] if reply is not None else ""
    raise RuntimeError(f"search kept answering 503 for {text!r}: {body}")


def ranked(hits: list[dict[str, Any]], ids: Mapping[tuple[str, str], str]) -> list[str]:
    """The items the hits name, each once, best first; hits of no known item are skipped."""
    seen: dict[str, None] = {}
    for hit in hits:
        payload = hit.get("payload", {})
        stored = (
            payload.get("fingerprint") if hit["kind"] == "alert" else payload.get("conversation_id")
        )
        doc_id = ids.get((hit["kind"], str(stored)))
        if doc_id is not None:
            seen.setdefault(doc_id)
    return list(seen)
