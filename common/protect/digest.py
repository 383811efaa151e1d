"""Digest documents: alerts of a storm gathered in a buffer become one message when due."""

import time
from collections import Counter
from collections.abc import Sequence

import redis

from common import keys
from common.contract import Priority, Queue, Task, queue_key
from common.envelope import BODY_PREFIX, BODY_SUFFIX, envelope_around_body
from common.items import AlertItem

# Turn the oldest due buffer into one message of at most ARGV[6] members, atomically.
# KEYS[1] due zset, KEYS[2] target queue list. ARGV: now, prefix, suffix, body_prefix,
# body_suffix, max_members.
_FLUSH = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #due == 0 then return 0 end
local buffer = due[1]
local items = redis.call('LRANGE', buffer, 0, tonumber(ARGV[6]) - 1)
if #items > 0 then
  local body = ARGV[4] .. table.concat(items, ',') .. ARGV[5]
  redis.call('LPUSH', KEYS[2], ARGV[2] .. cjson.encode(body) .. ARGV[3])
  redis.call('LTRIM', buffer, #items, -1)
end
if redis.call('LLEN', buffer) == 0 then redis.call('ZREM', KEYS[1], buffer) end
return #items
"""


def flush_due(r: redis.Redis, *, max_members: int, limit: int = 20) -> int:
    """Queue up to `limit` due digests as embed_digest messages; returns alerts flushed."""
    script = r.register_script(_FLUSH)
    target = queue_key(Queue.ALERTS, Priority.INFO)
    total = 0
    for _ in range(limit):
        # A fresh envelope per message: every task needs its own id.
        prefix, suffix = envelope_around_body(Task.EMBED_DIGEST, Queue.ALERTS, Priority.INFO)
        args: list[str | float] = [
            time.time(),
            prefix,
            suffix,
            BODY_PREFIX,
            BODY_SUFFIX,
            max_members,
        ]
        flushed = int(script(keys=[keys.DIGESTS_DUE, target], args=args))
        if not flushed:
            break
        total += flushed
    return total


def digest_text(items: Sequence[AlertItem]) -> str:
    """One document describing many alerts: what fired, how often, where, and what they say."""
    names = Counter(item.alertname for item in items)
    places = Counter(
        item.labels.get("namespace", "")
        + "/"
        + (item.labels.get("pod") or item.labels.get("instance", ""))
        for item in items
    )
    summaries = list(
        dict.fromkeys(i.annotations.get("summary", "") for i in items if i.annotations)
    )
    starts = sorted(item.starts_at for item in items)
    lines = [
        f"Alert storm digest: {len(items)} alerts between {starts[0]} and {starts[-1]}",
        "Alerts: " + ", ".join(f"{name} x{n}" for name, n in names.most_common(20)),
        "Where: " + ", ".join(place for place, _ in places.most_common(20)),
    ]
    lines += [s for s in summaries[:10] if s]
    return "\n".join(lines)
