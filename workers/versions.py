"""Chat message versions: an edit supersedes what was queued or stored before it.

The gateway's dedup state (`cortex:seen:<message key>`) holds the content hash of the latest
accepted version. Work for an older version is dropped before it is embedded, and again
before it is stored, so a late retry of an old version can never overwrite a newer one.
"""

from collections.abc import Callable, Sequence
from typing import TypeVar

import redis

from common import keys

T = TypeVar("T")


def current(
    entries: Sequence[T], r: redis.Redis, *, version_of: Callable[[T], tuple[str, str] | None]
) -> list[T]:
    """Keep entries whose (message key, content hash) is the latest accepted version.

    Entries that are not chat versions (`version_of` gives None) are kept; so is an entry
    whose message has no recorded state (expired), as nothing newer can be known.
    """
    versions = [version_of(entry) for entry in entries]
    message_keys = sorted({v[0] for v in versions if v})
    if not message_keys:
        return list(entries)
    latest = dict(zip(message_keys, r.mget([keys.seen(k) for k in message_keys]), strict=True))
    kept = []
    for entry, version in zip(entries, versions, strict=True):
        state = latest.get(version[0]) if version else None
        if version is None or state is None or _text(state) == version[1]:
            kept.append(entry)
    return kept


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
