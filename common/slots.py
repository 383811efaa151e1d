"""Cluster-wide concurrency slots for embedding calls: leases in Redis, a share kept for alerts.

A slot is a member of a sorted set scored by its lease expiry, so a worker killed mid-call
gives its slot back when the lease runs out, with no one to release it.
"""

import time
import uuid

import redis

from common import keys

# KEYS: slots zset, limiter hash. ARGV: now, expiry, token, reserved, bulk, cap, recover_s.
_ACQUIRE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local limit = tonumber(redis.call('HGET', KEYS[2], 'limit') or ARGV[6])
-- With nothing observed for a while (all work shed), a shrunken limit regains one slot per
-- period, so bulk work is not starved forever by a limit that only calls could raise.
local decreased = tonumber(redis.call('HGET', KEYS[2], 'decreased_at') or 0)
local last = math.max(decreased, tonumber(redis.call('HGET', KEYS[2], 'observed_at') or 0),
                      tonumber(redis.call('HGET', KEYS[2], 'recovered_at') or 0))
if decreased > 0 and limit < tonumber(ARGV[6]) and now - last >= tonumber(ARGV[7]) then
  limit = limit + 1
  redis.call('HSET', KEYS[2], 'limit', limit, 'recovered_at', now)
end
local allowed = limit
if ARGV[5] == '1' then allowed = limit - tonumber(ARGV[4]) end
if redis.call('ZCARD', KEYS[1]) < allowed then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  return 1
end
redis.call('HINCRBY', KEYS[2], 'denied', 1)
return 0
"""


class SlotPool:
    """At most `limit` embedding calls at once across all processes; bulk work leaves `reserved`."""

    def __init__(self, r: redis.Redis, *, cap: int, reserved: int, recover_s: float = 30.0) -> None:
        self._redis = r
        self._acquire = r.register_script(_ACQUIRE)
        self.cap = cap
        self.reserved = reserved
        self.recover_s = recover_s

    def try_acquire(self, *, bulk: bool, lease_s: float) -> str | None:
        """A slot token, or None when every slot this kind of work may use is taken."""
        token = uuid.uuid4().hex
        now = time.time()
        args: list[float | str | int] = [
            now,
            now + lease_s,
            token,
            self.reserved,
            int(bulk),
            self.cap,
            self.recover_s,
        ]
        got = self._acquire(keys=[keys.SLOTS, keys.LIMITER], args=args)
        return token if got else None

    def acquire(self, *, bulk: bool, lease_s: float, wait_s: float) -> str | None:
        """Wait up to `wait_s` for a slot; None if none came free.

        A release wakes one waiter at once (a slot left idle between calls is backend
        throughput lost); the growing timeout covers leases that expire with no release.
        """
        deadline = time.monotonic() + wait_s
        delay = 0.05
        while True:
            token = self.try_acquire(bulk=bulk, lease_s=lease_s)
            remaining = deadline - time.monotonic()
            if token or remaining <= 0:
                return token
            self._redis.blpop([keys.SLOTS_FREED], timeout=max(0.01, min(delay, remaining)))
            delay = min(delay * 2, 1.0)

    def release(self, token: str) -> None:
        """Give a slot back and wake one waiter (a lost release only costs its lease)."""
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrem(keys.SLOTS, token)
            pipe.lpush(keys.SLOTS_FREED, 1)
            # Wake-ups nobody waited for must not pile up: a few stale ones cost a retry each.
            pipe.ltrim(keys.SLOTS_FREED, 0, self.cap - 1)
            pipe.expire(keys.SLOTS_FREED, 60)
            pipe.execute()

    def in_use(self) -> int:
        """Slots held by live leases right now."""
        self._redis.zremrangebyscore(keys.SLOTS, "-inf", time.time())
        return int(self._redis.zcard(keys.SLOTS))
