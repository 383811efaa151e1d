"""Cluster-wide concurrency slots for embedding calls: leases in Redis, a share kept for alerts.

A slot is a member of a sorted set scored by its lease expiry, so a worker killed mid-call
gives its slot back when the lease runs out, with no one to release it.

Bulk (chat) work may not take the last `reserved` slots, except as a *borrowed* slot while no
alert or search is waiting for one: the caller then keeps its call short, so an alert that
arrives meanwhile waits for one short call. A reserved slot left idle would otherwise cost
chats a share of the node's safe capacity whenever no alert is around, which is most of the time.
"""

import time
import uuid
from dataclasses import dataclass

import redis

from common import keys

# How long a waiting alert or search call counts as waiting without polling again.
_WAITER_TTL_S = 2.0
# Alert and search waiters look again this often, even without a wake-up.
_PRIORITY_POLL_S = 0.2

# KEYS: slots zset, limiter hash, waiters zset.
# ARGV: now, expiry, token, reserved, bulk, cap, recover_s, waiter expiry.
# Returns 1 for a slot, 2 for a borrowed one, 0 for none.
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
local held = redis.call('ZCARD', KEYS[1])
if ARGV[5] ~= '1' then
  if held < limit then
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
    redis.call('ZREM', KEYS[3], ARGV[3])
    return 1
  end
  redis.call('ZADD', KEYS[3], ARGV[8], ARGV[3])
elseif held < limit - tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  return 1
elseif held < limit and redis.call('ZCOUNT', KEYS[3], now, '+inf') == 0 then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  return 2
end
redis.call('HINCRBY', KEYS[2], 'denied', 1)
return 0
"""


# KEYS: slots zset, waiters zset, wake-up list for everyone, wake-up list for alerts and search.
# ARGV: token, now, most wake-ups kept. A freed slot wakes an alert or search call first while
# one waits: a chat woken instead could not take it and would leave it idle until the next poll.
_RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
local list = KEYS[3]
if redis.call('ZCOUNT', KEYS[2], ARGV[2], '+inf') > 0 then list = KEYS[4] end
redis.call('LPUSH', list, 1)
-- Wake-ups nobody waited for must not pile up: a few stale ones cost a retry each.
redis.call('LTRIM', list, 0, tonumber(ARGV[3]) - 1)
redis.call('EXPIRE', list, 60)
return 1
"""


@dataclass(frozen=True)
class Grant:
    """A held slot: its token, and whether it is a reserved slot borrowed by bulk work."""

    token: str
    borrowed: bool = False


class SlotPool:
    """At most `limit` embedding calls at once across all processes; bulk work leaves `reserved`."""

    def __init__(self, r: redis.Redis, *, cap: int, reserved: int, recover_s: float = 30.0) -> None:
        self._redis = r
        self._acquire = r.register_script(_ACQUIRE)
        self._release = r.register_script(_RELEASE)
        self.cap = cap
        self.reserved = reserved
        self.recover_s = recover_s

    def try_acquire(self, *, bulk: bool, lease_s: float, token: str = "") -> Grant | None:
        """A slot, or None when every slot this kind of work may use is taken.

        An alert or search call that finds none is recorded as waiting (under `token`), which
        stops bulk work from borrowing the reserved slots until it got one.
        """
        token = token or uuid.uuid4().hex
        now = time.time()
        args: list[float | str | int] = [
            now, now + lease_s, token, self.reserved, int(bulk), self.cap, self.recover_s,
            now + _WAITER_TTL_S,
        ]  # fmt: skip
        got = int(self._acquire(keys=[keys.SLOTS, keys.LIMITER, keys.SLOT_WAITERS], args=args))
        return Grant(token, borrowed=got == 2) if got else None

    def acquire(self, *, bulk: bool, lease_s: float, wait_s: float) -> Grant | None:
        """Wait up to `wait_s` for a slot; None if none came free.

        A release wakes one waiter at once (a slot left idle between calls is backend
        throughput lost), an alert or search waiter first; the growing timeout covers leases
        that expire with no release.
        """
        deadline = time.monotonic() + wait_s
        delay, most = 0.05, 1.0 if bulk else _PRIORITY_POLL_S
        wake_ups = [keys.SLOTS_FREED] if bulk else [keys.SLOTS_FREED_PRIORITY, keys.SLOTS_FREED]
        token = uuid.uuid4().hex
        try:
            while True:
                grant = self.try_acquire(bulk=bulk, lease_s=lease_s, token=token)
                remaining = deadline - time.monotonic()
                if grant or remaining <= 0:
                    return grant
                self._redis.blpop(wake_ups, timeout=max(0.01, min(delay, remaining)))
                delay = min(delay * 2, most)
        finally:
            if not bulk:
                self._redis.zrem(keys.SLOT_WAITERS, token)

    def release(self, token: str) -> None:
        """Give a slot back and wake one waiter (a lost release only costs its lease)."""
        wake_ups = [keys.SLOTS, keys.SLOT_WAITERS, keys.SLOTS_FREED, keys.SLOTS_FREED_PRIORITY]
        self._release(keys=wake_ups, args=[token, time.time(), self.cap])

    def in_use(self) -> int:
        """Slots held by live leases right now."""
        self._redis.zremrangebyscore(keys.SLOTS, "-inf", time.time())
        return int(self._redis.zcard(keys.SLOTS))
