"""Where work sits at the end: queues, kombu's unacked hash, parked, claims, dead letters.

Read straight from Redis after the run. Every message is searched for the soak alerts it
carries (by their `soak_seq` label, in embed tasks' items and in store tasks' points alike),
so an alert that was answered 202 and never stored can be located.
"""

import base64
import contextlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis

from bench.soak.traffic import SEQ_LABEL
from common import keys
from common.contract import Queue, queue_keys

_SEQ_IN_JSON = re.compile(rf'"{SEQ_LABEL}":\s*"(\d+)"')


@dataclass
class Place:
    """Messages found in one place and the soak alerts they carry."""

    messages: int = 0
    seqs: set[int] = field(default_factory=set)
    oldest_s: float | None = None  # unacked only: how long ago its oldest entry was delivered


@dataclass
class Leftovers:
    """Every place that can hold work, by name (`queued alerts`, `unacked`, ...)."""

    places: dict[str, Place]
    error: str = ""

    def where(self, seq: int) -> list[str]:
        """The places holding alert `seq`."""
        return [name for name, place in self.places.items() if seq in place.seqs]


def scan(r: redis.Redis) -> Leftovers:
    """Read every place once; an unreachable Redis gives an empty result with the error."""
    try:
        return Leftovers(places=_places(r))
    except redis.RedisError as exc:
        return Leftovers(places={}, error=f"{type(exc).__name__}: {exc}")


def _places(r: redis.Redis) -> dict[str, Place]:
    places: dict[str, Place] = {}
    for queue in Queue:
        lists = queue_keys(queue.value)
        places[f"queued {queue.value}"] = _place([m for k in lists for m in r.lrange(k, 0, -1)])
        parked = [m for k in lists for m in r.lrange(keys.parked(k), 0, -1)]
        places[f"parked {queue.value}"] = _place(parked)
    places["unacked"] = _place(list(r.hvals(keys.KOMBU_UNACKED)))
    delivered = r.zrange(keys.KOMBU_UNACKED_INDEX, 0, 0, withscores=True)
    if delivered:
        places["unacked"].oldest_s = time.time() - float(delivered[0][1])
    claim_keys: list[bytes] = r.zrange(keys.CLAIMS, 0, -1)  # type: ignore[assignment]
    claims = [m for key in claim_keys for m in r.hvals(key)]
    places["claimed"] = _place(claims)
    places["dead letters"] = _place(r.lrange(keys.DEAD_LETTERS, 0, -1))
    return places


def _place(raws: Sequence[bytes | str]) -> Place:
    place = Place(messages=len(raws))
    for raw in raws:
        place.seqs |= seqs_in(raw)
    return place


def seqs_in(raw: bytes | str) -> set[int]:
    """Soak alerts in one stored message, whatever its wrapping (kombu, claim, dead letter)."""
    texts = [raw.decode(errors="replace") if isinstance(raw, bytes) else raw]
    with contextlib.suppress(orjson.JSONDecodeError):
        texts += _bodies(orjson.loads(raw))
    return {int(seq) for text in texts for seq in _SEQ_IN_JSON.findall(text)}


def _bodies(value: Any) -> list[str]:
    """Every JSON text nested inside a JSON value: string bodies and base64 bodies, decoded."""
    found: list[str] = []
    if isinstance(value, list):
        for item in value:
            found += _bodies(item)
    elif isinstance(value, dict):
        body = value.get("body")
        properties = value.get("properties")
        encoding = properties.get("body_encoding") if isinstance(properties, dict) else None
        if isinstance(body, str) and encoding == "base64":
            found += _nested(base64.b64decode(body).decode(errors="replace"))
        for item in value.values():
            found += _bodies(item)
    elif isinstance(value, str) and value[:1] in ("{", "["):
        found += _nested(value)
    return found


def _nested(text: str) -> list[str]:
    try:
        return [text, *_bodies(orjson.loads(text))]
    except orjson.JSONDecodeError:
        return [text]
