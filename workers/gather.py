"""Topping up a batch: a task short of a full batch claims more queued messages of its kind.

Intake already coalesces items into the newest queued message, but a worker often takes a
message before it is full (the critical bucket is served first, and an idle worker takes what
is there). Before its embedding call, such a task claims whole messages from the oldest end of
its queue's lists, so one call carries up to a full batch.

Claimed messages are never only in memory: the claim script moves them, atomically, into a
claim hash in Redis named after the claiming task and indexed by when it was made. The task's
settlement forgets the claim (its items are with the store or parked) and a failing task gives
the messages back (to the head of their lists, next to be taken). A worker killed mid-call
leaves the claim behind; the controller gives it back once no live lease holds its task.
"""

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis

from common import keys
from common.protect import telemetry

_OWNER_SEP = "/"

# KEYS[1] claims index, KEYS[2] this claim. ARGV: room, task, claimed at, then lists in priority
# order. Only plain-JSON messages of the same task are taken (a Celery retry has a base64 body
# and its own retry count: it is left for a worker to take as it is).
_CLAIM = """
local room = tonumber(ARGV[1])
local bodies = {}
for i = 4, #ARGV do
  local list = ARGV[i]
  while room > 0 do
    local raw = redis.call('LINDEX', list, -1)
    if not raw then break end
    local ok, message = pcall(cjson.decode, raw)
    if not ok or type(message) ~= 'table' or type(message.headers) ~= 'table'
        or message.headers.task ~= ARGV[2] or type(message.body) ~= 'string'
        or type(message.properties) ~= 'table' or message.properties.body_encoding ~= nil then
      break
    end
    local ok_body, body = pcall(cjson.decode, message.body)
    if not ok_body or type(body) ~= 'table' or type(body[1]) ~= 'table'
        or type(body[1][1]) ~= 'table' then
      break
    end
    local n = #body[1][1]
    if n > room then break end
    redis.call('RPOP', list)
    redis.call('HSET', KEYS[2], list .. '\\n' .. #bodies, raw)
    bodies[#bodies + 1] = message.body
    room = room - n
  end
end
if #bodies > 0 then redis.call('ZADD', KEYS[1], ARGV[3], KEYS[2]) end
return bodies
"""

# KEYS[1] claims index, KEYS[2] the claim: every message back where a consumer takes next.
_GIVE_BACK = """
local fields = redis.call('HGETALL', KEYS[2])
for i = 1, #fields, 2 do
  redis.call('RPUSH', string.match(fields[i], '^(.*)\\n'), fields[i + 1])
end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], KEYS[2])
return #fields / 2
"""


@dataclass
class Claim:
    """Messages a task took over; `items` are their items in order."""

    key: str
    items: list[dict[str, Any]] = field(default_factory=list)
    messages: int = 0


def claim(r: redis.Redis, *, task: str, owner: str, lists: Sequence[str], room: int) -> Claim:
    """Take queued messages of `task` holding at most `room` items, highest priority first.

    `owner` is the claiming task's id: the claim is given back once no lease holds it.
    """
    key = f"{keys.CLAIM}{owner}{_OWNER_SEP}{uuid.uuid4().hex}"
    if room <= 0:
        return Claim(key)
    script = r.register_script(_CLAIM)
    bodies = script(keys=[keys.CLAIMS, key], args=[room, task, time.time(), *lists])
    found = Claim(key, messages=len(bodies))
    for body in bodies:
        args, _kwargs, _embed = orjson.loads(body)
        found.items += args[0]
    if found.messages:
        telemetry.count(r, f"gathered:{task}", found.messages)
    return found


def owner(claim_key: str) -> str:
    """The task id that made a claim."""
    return claim_key.removeprefix(keys.CLAIM).rpartition(_OWNER_SEP)[0]


def give_back(r: redis.Redis, claim_key: str) -> int:
    """Put a claim's messages back at the head of their lists; returns how many."""
    script = r.register_script(_GIVE_BACK)
    return int(script(keys=[keys.CLAIMS, claim_key]))
