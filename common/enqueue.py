"""Dedup check and enqueue as one atomic Redis operation."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from common import keys
from common.contract import queue_key
from common.envelope import BODY_PREFIX, BODY_SUFFIX, envelope_around_body

# One script run per (queue, priority) group: an item is marked seen if and only if the
# message carrying it is pushed in the same run, so no crash can separate the two.
_SCRIPT = """
local ttl = tonumber(ARGV[1])
local on_change = ARGV[2]
local fresh, changed, dups = {}, {}, 0
local n = #KEYS - 3
for i = 1, n do
  local state, item = ARGV[8 + 2 * i], ARGV[9 + 2 * i]
  local old = redis.call('GET', KEYS[3 + i])
  if not old then
    redis.call('SET', KEYS[3 + i], state, 'EX', ttl)
    fresh[#fresh + 1] = item
  elseif old ~= state then
    redis.call('SET', KEYS[3 + i], state, 'EX', ttl)
    if on_change == 'embed' then fresh[#fresh + 1] = item else changed[#changed + 1] = item end
  else
    redis.call('EXPIRE', KEYS[3 + i], ttl)
    dups = dups + 1
  end
end
local function push(list, items, prefix, suffix)
  if #items == 0 then return end
  local body = ARGV[7] .. table.concat(items, ',') .. ARGV[8]
  redis.call('LPUSH', list, prefix .. cjson.encode(body) .. suffix)
end
if ARGV[9] ~= '' then
  -- Digest: items gather in a buffer the controller turns into one message when it is due.
  for _, item in ipairs(fresh) do redis.call('RPUSH', KEYS[1], item) end
  if #fresh > 0 then redis.call('ZADD', KEYS[3], 'NX', ARGV[9], KEYS[1]) end
else
  push(KEYS[1], fresh, ARGV[3], ARGV[4])
end
push(KEYS[2], changed, ARGV[5], ARGV[6])
return {#fresh, #changed, dups}
"""


@dataclass(frozen=True)
class Candidate:
    """One item offered for enqueueing: its dedup key, state and serialised payload."""

    key: str
    state: str
    item_json: str


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
    # When set, new items gather in this digest buffer until `digest_due` (unix time).
    digest_buffer: str = ""
    digest_due: float = 0.0


@dataclass
class Outcome:
    """How many items were queued, queued as updates, or recognised as duplicates."""

    accepted: int = 0
    updated: int = 0
    duplicates: int = 0


class Enqueuer:
    """Offers groups of items to Redis; each group is deduplicated and queued atomically."""

    def __init__(self, redis: Redis) -> None:
        self._script = redis.register_script(_SCRIPT)
        self._redis = redis

    async def offer(self, groups: Sequence[tuple[Route, Sequence[Candidate]]]) -> Outcome:
        """Run every group in one round trip; raises redis errors when Redis is unavailable."""
        outcome = Outcome()
        async with self._redis.pipeline(transaction=False) as pipe:
            for route, candidates in groups:
                if candidates:
                    await self._queue_script(pipe, route, candidates)
            results = await pipe.execute()
        for fresh, changed, dups in results:
            outcome.accepted += int(fresh)
            outcome.updated += int(changed)
            outcome.duplicates += int(dups)
        return outcome

    async def _queue_script(
        self, pipe: Pipeline, route: Route, candidates: Sequence[Candidate]
    ) -> None:
        prefix, suffix = envelope_around_body(route.task, route.queue, route.priority)
        upd_prefix, upd_suffix = ("", "")
        if route.update_task:
            upd_prefix, upd_suffix = envelope_around_body(
                route.update_task, route.update_queue, route.update_priority
            )
        script_keys = [
            route.digest_buffer or queue_key(route.queue, route.priority),
            queue_key(route.update_queue or route.queue, route.update_priority),
            keys.DIGESTS_DUE,
            *(keys.seen(c.key) for c in candidates),
        ]
        args: list[str | int | float] = [
            route.ttl_s,
            route.on_change,
            prefix,
            suffix,
            upd_prefix,
            upd_suffix,
            BODY_PREFIX,
            BODY_SUFFIX,
            route.digest_due if route.digest_buffer else "",
        ]
        for c in candidates:
            args += [c.state, c.item_json]
        await self._script(keys=script_keys, args=args, client=pipe)
