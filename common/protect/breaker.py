"""A circuit breaker shared by every process through Redis, opened by failures or slow calls.

Like resilience4j: over a sliding time window, when at least `min_calls` were made and the
failure rate or the slow-call rate reaches its threshold, the breaker opens; after `open_s` it
lets a few probe calls through (half-open), which close it again or re-open it.
"""

import time
from dataclasses import dataclass
from typing import Literal

import redis

from common import keys

State = Literal["closed", "open", "half_open"]
Outcome = Literal["ok", "slow", "failed", "cancelled"]

# KEYS[1] breaker hash, KEYS[2] counters hash.
# ARGV: now, open_s, max_probes
_ALLOW = """
local now, open_s, max_probes = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local st = redis.call('HGET', KEYS[1], 'state') or 'closed'
if st == 'open' then
  if now - tonumber(redis.call('HGET', KEYS[1], 'since') or 0) < open_s then return {st, 0} end
  st = 'half_open'
  redis.call('HSET', KEYS[1], 'state', st, 'since', now, 'probes', 0, 'probe_ok', 0)
  redis.call('HINCRBY', KEYS[2], 'breaker:open->half_open', 1)
end
if st == 'half_open' then
  -- A probe whose worker died never reports: after another open period, probe again.
  if now - tonumber(redis.call('HGET', KEYS[1], 'since') or 0) >= 2 * open_s then
    redis.call('HSET', KEYS[1], 'since', now, 'probes', 0)
  end
  if tonumber(redis.call('HGET', KEYS[1], 'probes') or 0) >= max_probes then return {st, 0} end
  redis.call('HINCRBY', KEYS[1], 'probes', 1)
  return {st, 2}
end
return {st, 1}
"""

# KEYS[1] breaker hash, KEYS[2] counters hash.
# ARGV: now, outcome, probe, bucket_s, buckets, min_calls, failure_rate, slow_rate, max_probes
_RECORD = """
local now, outcome, probe = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local st = redis.call('HGET', KEYS[1], 'state') or 'closed'
local function go(to)
  redis.call('HINCRBY', KEYS[2], 'breaker:' .. st .. '->' .. to, 1)
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'state', to, 'since', now)
  return to
end
if outcome == 'cancelled' then
  if probe == '1' and st == 'half_open' then redis.call('HINCRBY', KEYS[1], 'probes', -1) end
  return st
end
if probe == '1' then
  if st ~= 'half_open' then return st end
  if outcome ~= 'ok' then return go('open') end
  if redis.call('HINCRBY', KEYS[1], 'probe_ok', 1) >= tonumber(ARGV[9]) then return go('closed') end
  return st
end
if st ~= 'closed' then return st end
local bucket = math.floor(now / tonumber(ARGV[4]))
local oldest = bucket - tonumber(ARGV[5]) + 1
redis.call('HINCRBY', KEYS[1], 'c:' .. bucket, 1)
if outcome == 'failed' then redis.call('HINCRBY', KEYS[1], 'f:' .. bucket, 1) end
if outcome ~= 'ok' then redis.call('HINCRBY', KEYS[1], 's:' .. bucket, 1) end
local sums = {c = 0, f = 0, s = 0}
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local kind, b = string.match(fields[i], '^(%a):(%-?%d+)$')
  if kind then
    if tonumber(b) < oldest then redis.call('HDEL', KEYS[1], fields[i])
    else sums[kind] = sums[kind] + tonumber(fields[i + 1]) end
  end
end
if sums.c >= tonumber(ARGV[6]) and
   (sums.f / sums.c >= tonumber(ARGV[7]) or sums.s / sums.c >= tonumber(ARGV[8])) then
  return go('open')
end
return st
"""


@dataclass(frozen=True)
class Permit:
    """Leave to call the backend; `probe` calls decide whether a half-open breaker closes."""

    state: State
    probe: bool


class Breaker:
    """The shared breaker; every method is one atomic Redis script call."""

    def __init__(
        self,
        r: redis.Redis,
        *,
        window_s: int,
        min_calls: int,
        failure_rate: float,
        slow_rate: float,
        open_s: int,
        half_open_probes: int,
        buckets: int = 10,
    ) -> None:
        self._redis = r
        self._allow = r.register_script(_ALLOW)
        self._record = r.register_script(_RECORD)
        self._bucket_s = max(1.0, window_s / buckets)
        self._buckets = buckets
        self._min_calls = min_calls
        self._failure_rate = failure_rate
        self._slow_rate = slow_rate
        self._open_s = open_s
        self._probes = half_open_probes

    def allow(self) -> Permit | None:
        """A permit to call, or None while open (or while half-open probes are out)."""
        state, grant = self._allow(
            keys=[keys.BREAKER, keys.COUNTERS], args=[time.time(), self._open_s, self._probes]
        )
        if not grant:
            return None
        return Permit(state=_state(state), probe=int(grant) == 2)

    def record(self, permit: Permit, outcome: Outcome) -> State:
        """Report how a permitted call went; returns the state afterwards."""
        args = [
            time.time(), outcome, int(permit.probe), self._bucket_s, self._buckets,
            self._min_calls, self._failure_rate, self._slow_rate, self._probes,
        ]  # fmt: skip
        return _state(self._record(keys=[keys.BREAKER, keys.COUNTERS], args=args))

    def state(self) -> State:
        """The state as stored (an expired open period still reads as open until a call)."""
        return _state(self._redis.hget(keys.BREAKER, "state") or b"closed")


def _state(raw: bytes | str) -> State:
    value = raw.decode() if isinstance(raw, bytes) else raw
    assert value in ("closed", "open", "half_open"), value
    return value  # type: ignore[return-value]
