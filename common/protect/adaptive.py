"""Adaptive concurrency (AIMD, as Vector's ARC): the slot limit follows the backend's latency.

Latency is measured per input, since Ollama embeds a list serially. While it stays near its
baseline and work was turned away, the limit grows by one; when it climbs well above the
baseline, or the backend answers 429/503/timeout, the limit shrinks by a factor, at most once
per baseline call time. The limit stays between 1 and the cap.

A backend that became slower for good (a half-open probe was slow, yet nothing says the node is
under pressure) is re-baselined: its latency is the new normal, and batches shrink to match.
"""

import redis

from common import keys
from common.protect.pace import Pace

# KEYS[1] limiter hash.
# ARGV: now, per_input_s, overloaded, cap, inc_below, dec_above, factor, floor, rebaseline
_OBSERVE = """
local now, overloaded = tonumber(ARGV[1]), ARGV[3] == '1'
-- Below the floor, latency differences are noise, not pressure.
local x = math.max(tonumber(ARGV[2]), tonumber(ARGV[8]))
local cap = tonumber(ARGV[4])
local limit = tonumber(redis.call('HGET', KEYS[1], 'limit') or cap)
local base = tonumber(redis.call('HGET', KEYS[1], 'baseline') or 0)
if base <= 0 or ARGV[9] == '1' then
  base = x
  redis.call('HSET', KEYS[1], 'pressure', 1)
end
local ratio = x / math.max(base, 1e-6)
local pressure = tonumber(redis.call('HGET', KEYS[1], 'pressure') or 1)
pressure = pressure + 0.3 * (ratio - pressure)
if overloaded or ratio > tonumber(ARGV[6]) then
  local last = tonumber(redis.call('HGET', KEYS[1], 'decreased_at') or 0)
  if now - last >= math.max(1, base) then
    limit = math.max(1, math.floor(limit * tonumber(ARGV[7])))
    redis.call('HSET', KEYS[1], 'decreased_at', now)
  end
  if overloaded then pressure = math.max(pressure, tonumber(ARGV[6])) end
  -- The baseline drifts only slowly towards overload latency, so a model that became
  -- slower for good is eventually accepted as the new normal.
  if not overloaded then base = base + 0.005 * (x - base) end
else
  base = base + 0.05 * (x - base)
  if ratio < tonumber(ARGV[5]) and tonumber(redis.call('HGET', KEYS[1], 'denied') or 0) > 0 then
    limit = math.min(cap, limit + 1)
    redis.call('HSET', KEYS[1], 'denied', 0)
  end
end
limit = math.max(1, math.min(cap, limit))
redis.call('HSET', KEYS[1], 'limit', limit, 'baseline', base, 'pressure', pressure,
           'observed_at', now)
return tostring(limit)
"""


class AdaptiveLimit:
    """Keeps the shared slot limit in Redis (`cortex:limiter`), read by SlotPool."""

    def __init__(
        self,
        r: redis.Redis,
        *,
        cap: int,
        increase_below: float,
        decrease_above: float,
        decrease_factor: float,
        floor_s: float,
    ) -> None:
        self._redis = r
        self._observe = r.register_script(_OBSERVE)
        self._args = [cap, increase_below, decrease_above, decrease_factor, floor_s]
        self.cap = cap

    def observe(
        self, *, now: float, seconds: float, inputs: int, overloaded: bool,
        rebaseline: bool = False,
    ) -> int:  # fmt: skip
        """Feed one call's latency (or an overload answer); returns the new limit."""
        per_input = seconds / max(1, inputs)
        args = [now, per_input, int(overloaded), *self._args, int(rebaseline)]
        return int(self._observe(keys=[keys.LIMITER], args=args))

    def pace(self) -> Pace:
        """The learned per-input baseline and latency pressure, in one round trip."""
        baseline, pressure = self._redis.hmget(keys.LIMITER, ["baseline", "pressure"])
        return Pace(baseline_s=float(baseline or 0), pressure=float(pressure or 1))

    def snapshot(self) -> dict[str, float]:
        """Current limit, baseline per-input latency (s) and smoothed pressure (latency ratio)."""
        raw = self._redis.hgetall(keys.LIMITER)
        values = {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in raw.items()}
        return {
            "limit": values.get("limit", float(self.cap)),
            "baseline_s": values.get("baseline", 0.0),
            "pressure": values.get("pressure", 1.0),
        }
