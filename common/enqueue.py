"""One intake request, one Redis round trip: dedup, routing and enqueue as one atomic script.

The script (enqueue.lua) also counts storms, records pressure alerts and, for bulk work,
applies admission control, so the gateway's whole write path is a single EVALSHA. On routes
that coalesce, queued items join the newest still-queued message of their list up to a batch
size: a backlog is made of full embedding batches, with no added wait while the workers keep
up. Alert workers gather their batches themselves, so alerts skip that (see `Route`).
"""

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import orjson
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from common import keys
from common.contract import queue_key
from common.envelope import BODY_PREFIX, BODY_SUFFIX, envelope_template

_SCRIPT = resources.files("common").joinpath("enqueue.lua").read_text()
# A coalescing record outlives any queue wait worth merging into.
_TAIL_TTL_S = 86400


@dataclass(frozen=True)
class Route:
    """Where new items go, and what a changed state means (re-embed, or update only)."""

    task: str
    queue: str
    priority: int
    ttl_s: int
    on_change: Literal["embed", "update"]
    update_task: str = ""
    update_queue: str = ""
    update_priority: int = 0
    # Join new items to the newest still-queued message of the list. Off for routes whose
    # workers claim more queued messages themselves: merging rewrites the whole message.
    coalesce: bool = True


# Plain slotted dataclasses: built per alert on the gateway's hot path, where a frozen
# dataclass's per-field object.__setattr__ is measurable.
@dataclass(slots=True)
class Candidate:
    """One dedup unit offered for enqueueing: an alert, or a chat message with its chunks."""

    key: str
    state: str
    # One or more item JSON objects, comma-joined; `inputs` is how many embeddings they cost.
    items_json: str
    inputs: int = 1
    # Storm counting: the fingerprint set this item counts in, and its member there.
    storm_set: str = ""
    storm_member: str = ""
    # A digest buffer it joins whatever the counts, or only when its storm set is over.
    digest: str = ""
    storm_digest: str = ""


@dataclass(frozen=True)
class Admission:
    """Bulk admission: refuse while `lists` hold `cap_items` or more (messages x batch)."""

    cap_items: int
    per_message: int
    lists: Sequence[str]
    drained_keys: Sequence[str]


@dataclass(slots=True)
class Offer:
    """Everything one request writes."""

    candidates: Sequence[tuple[Route, Candidate]]
    storm_threshold: int = 0
    storm_ttl_s: int = 1
    digest_due: float = 0.0
    # Pressure alerts as (member, expires_at), and the time before which entries are gone.
    pressure: Sequence[tuple[str, float]] = ()
    now: float = 0.0
    admission: Admission | None = None


@dataclass(slots=True)
class Outcome:
    """How many items were queued, queued as updates, or recognised as duplicates."""

    accepted: int = 0
    updated: int = 0
    duplicates: int = 0
    messages_created: int = 0
    messages_merged: int = 0


@dataclass(frozen=True)
class Refused(Exception):
    """Admission said no: the backlog, and items drained per bucket of `drained_keys`."""

    backlog_items: int
    drained: tuple[int, ...]


@dataclass
class _Header:
    routes: list[dict[str, Any]] = field(default_factory=list)
    # Envelope templates travel as plain arguments: decoding them as JSON would cost Redis.
    templates: list[str] = field(default_factory=list)
    index: dict[Route, int] = field(default_factory=dict)

    def route(self, route: Route) -> int:
        if route not in self.index:
            spec, templates = _route_spec(route)
            self.routes.append(spec)
            self.templates += templates
            self.index[route] = len(self.routes)  # Lua counts from 1
        return self.index[route]


@cache
def _route_spec(route: Route) -> tuple[dict[str, Any], tuple[str, str, str, str]]:
    # Built once per route: envelopes are templates the script fills with fresh ids.
    prefix, suffix = envelope_template(route.task, route.queue, route.priority)
    spec: dict[str, Any] = {
        "list": queue_key(route.queue, route.priority),
        "task": route.task,
        "change": route.on_change,
        "ttl": route.ttl_s,
        "coalesce": route.coalesce,
    }
    up, us = "", ""
    if route.update_task:
        up, us = envelope_template(route.update_task, route.update_queue, route.update_priority)
        spec |= {
            "ulist": queue_key(route.update_queue, route.update_priority),
            "utask": route.update_task,
        }
    return spec, (prefix, suffix, up, us)


class Enqueuer:
    """Runs the intake script; each offer is one atomic script call, one round trip."""

    def __init__(self, redis: Redis, *, batch_items: int, batch_bytes: int) -> None:
        self._redis = redis
        # EVALSHA by hand: redis-py's Script wrapper costs more per call than the script.
        self._sha = hashlib.sha1(_SCRIPT.encode()).hexdigest()  # noqa: S324 (Redis's own id)
        self._batch_items = batch_items
        self._batch_bytes = batch_bytes
        # Message ids: unique per process (random base) and per request (serial).
        self._id_base = uuid.uuid4().hex
        self._serial = 0

    async def offer(self, offer: Offer) -> Outcome:
        """Write the offer; raises `Refused`, or redis errors when Redis is unavailable."""
        header = _Header()
        # One argument, serialised once: redis-py's per-argument packing would cost more.
        candidates = [
            [
                keys.seen(c.key), c.state, c.items_json, c.inputs, header.route(route),
                c.storm_set, c.storm_member, c.digest, c.storm_digest,
            ]
            for route, c in offer.candidates
        ]  # fmt: skip
        spec = self._spec(offer, header, candidates)
        self._serial += 1
        id_base = f"{self._id_base}{self._serial}-"
        args: list[bytes | str] = [spec, id_base, *header.templates]
        try:
            result = await self._redis.evalsha(self._sha, 0, *args)
        except NoScriptError:
            result = await self._redis.eval(_SCRIPT, 0, *args)
        if int(result[0]) < 0:
            raise Refused(int(result[1]), tuple(int(n) for n in result[2:]))
        fresh, changed, dups, created, merged = (int(x) for x in result)
        return Outcome(fresh, changed, dups, created, merged)

    def _spec(self, offer: Offer, header: _Header, candidates: list[list[Any]]) -> bytes:
        spec: dict[str, Any] = {
            "candidates": candidates,
            "routes": header.routes,
            "storm_threshold": offer.storm_threshold,
            "storm_ttl": offer.storm_ttl_s,
            "digests": keys.DIGESTS_DUE,
            "digest_due": offer.digest_due,
            "tail": keys.TAIL,
            "tail_ttl": _TAIL_TTL_S,
            "max_items": self._batch_items,
            "max_bytes": self._batch_bytes,
            "bp": BODY_PREFIX,
            "bs": BODY_SUFFIX,
            "now": offer.now,
        }
        if offer.pressure:
            entries = [[member, expires] for member, expires in offer.pressure]
            spec["pressure"] = {"key": keys.PRESSURE_ALERTS, "entries": entries}
        if offer.admission:
            a = offer.admission
            spec["admit"] = {
                "cap": a.cap_items,
                "per_message": a.per_message,
                "lists": list(a.lists),
                "drained": list(a.drained_keys),
            }
        return orjson.dumps(spec)
