"""Breaker, slots and adaptive limit as pure Redis logic, on fakeredis with its Lua runtime."""

import time
from collections.abc import Iterator

import fakeredis
import pytest

from common.protect.adaptive import AdaptiveLimit
from common.protect.breaker import Breaker
from common.protect.slots import SlotPool


@pytest.fixture
def r() -> Iterator[fakeredis.FakeRedis]:
    client = fakeredis.FakeRedis()
    yield client
    client.close()


def breaker(r: fakeredis.FakeRedis) -> Breaker:
    return Breaker(
        r, window_s=60, min_calls=4, failure_rate=0.5, slow_rate=0.5, open_s=1,
        half_open_probes=2,
    )  # fmt: skip


def call(b: Breaker, outcome: str) -> str:
    permit = b.allow()
    assert permit is not None
    return b.record(permit, outcome)  # type: ignore[arg-type]


def test_breaker_opens_on_failure_rate_then_half_opens_and_closes(r: fakeredis.FakeRedis) -> None:
    b = breaker(r)
    assert [call(b, o) for o in ("ok", "failed", "ok")] == ["closed"] * 3
    assert call(b, "failed") == "open"  # 2 of 4 failed
    assert b.allow() is None
    time.sleep(1.1)
    first, second = b.allow(), b.allow()
    assert first and first.probe and first.state == "half_open" and second and second.probe
    assert b.allow() is None  # only two probes at a time
    assert b.record(first, "ok") == "half_open"
    assert b.record(second, "ok") == "closed"
    assert int(r.hget("cortex:counters", "breaker:half_open->closed") or 0) == 1


def test_breaker_opens_on_slow_calls_alone(r: fakeredis.FakeRedis) -> None:
    b = breaker(r)
    for outcome in ("ok", "slow", "ok"):
        call(b, outcome)
    assert call(b, "slow") == "open"


def test_failed_probe_reopens_and_cancelled_probe_is_returned(r: fakeredis.FakeRedis) -> None:
    b = breaker(r)
    for outcome in ("failed",) * 4:
        call(b, outcome)
    time.sleep(1.1)
    probe = b.allow()
    assert probe is not None
    b.record(probe, "cancelled")
    again = b.allow()
    assert again is not None and again.probe
    assert b.record(again, "failed") == "open"


def test_too_few_calls_never_open(r: fakeredis.FakeRedis) -> None:
    b = breaker(r)
    assert [call(b, "failed") for _ in range(3)] == ["closed"] * 3


def test_slots_respect_the_limit_and_keep_a_share_for_alerts(r: fakeredis.FakeRedis) -> None:
    pool = SlotPool(r, cap=3, reserved=1)
    chats = [pool.try_acquire(bulk=True, lease_s=30) for _ in range(2)]
    assert all(c is not None and not c.borrowed for c in chats)  # bulk's own share
    alert = pool.try_acquire(bulk=False, lease_s=30)
    assert alert is not None and not alert.borrowed
    assert pool.try_acquire(bulk=False, lease_s=30) is None
    assert pool.try_acquire(bulk=True, lease_s=30) is None
    pool.release(alert.token)
    assert pool.try_acquire(bulk=False, lease_s=30) is not None


def test_bulk_borrows_the_reserved_slot_only_while_no_alert_waits(r: fakeredis.FakeRedis) -> None:
    pool = SlotPool(r, cap=2, reserved=1)
    own = pool.try_acquire(bulk=True, lease_s=30)
    borrowed = pool.try_acquire(bulk=True, lease_s=30)
    assert own is not None and not own.borrowed and borrowed is not None and borrowed.borrowed
    # An alert finds both taken: it waits, and while it does no chat may borrow.
    assert pool.try_acquire(bulk=False, lease_s=30, token="alert-1") is None
    pool.release(borrowed.token)
    assert pool.try_acquire(bulk=True, lease_s=30) is None
    alert = pool.try_acquire(bulk=False, lease_s=30, token="alert-1")
    assert alert is not None and r.zcard("cortex:slots:waiters") == 0
    pool.release(alert.token)
    again = pool.try_acquire(bulk=True, lease_s=30)
    assert again is not None and again.borrowed


def test_a_waiter_that_went_away_stops_blocking_borrowing(r: fakeredis.FakeRedis) -> None:
    pool = SlotPool(r, cap=1, reserved=1)
    held = pool.try_acquire(bulk=False, lease_s=30)
    assert held is not None
    assert pool.try_acquire(bulk=False, lease_s=30, token="gone") is None  # then it died
    pool.release(held.token)
    r.zadd("cortex:slots:waiters", {"gone": time.time() - 1})  # its registration ran out
    grant = pool.try_acquire(bulk=True, lease_s=30)
    assert grant is not None and grant.borrowed


def test_a_dead_holders_slot_returns_when_its_lease_expires(r: fakeredis.FakeRedis) -> None:
    pool = SlotPool(r, cap=1, reserved=1)
    assert pool.try_acquire(bulk=False, lease_s=0.3)  # never released: its process "died"
    assert pool.try_acquire(bulk=False, lease_s=5) is None
    time.sleep(0.4)
    assert pool.try_acquire(bulk=False, lease_s=5) is not None


def test_slot_pool_follows_the_adaptive_limit(r: fakeredis.FakeRedis) -> None:
    pool = SlotPool(r, cap=4, reserved=1)
    r.hset("cortex:limiter", "limit", 2)
    assert pool.try_acquire(bulk=False, lease_s=5) and pool.try_acquire(bulk=False, lease_s=5)
    assert pool.try_acquire(bulk=False, lease_s=5) is None


def limiter(r: fakeredis.FakeRedis) -> AdaptiveLimit:
    return AdaptiveLimit(
        r, cap=4, increase_below=1.5, decrease_above=2.5, decrease_factor=0.5, floor_s=0.01
    )


def test_limit_grows_by_one_only_with_demand_and_fast_calls(r: fakeredis.FakeRedis) -> None:
    lim = limiter(r)
    r.hset("cortex:limiter", "limit", 1)
    assert lim.observe(now=1, seconds=0.1, inputs=1, overloaded=False) == 1  # no demand
    r.hincrby("cortex:limiter", "denied", 1)
    assert lim.observe(now=2, seconds=0.1, inputs=1, overloaded=False) == 2
    r.hincrby("cortex:limiter", "denied", 1)
    assert lim.observe(now=3, seconds=0.1, inputs=1, overloaded=False) == 3


def test_limit_shrinks_on_slow_calls_and_overload_but_never_below_one(
    r: fakeredis.FakeRedis,
) -> None:
    lim = limiter(r)
    lim.observe(now=0, seconds=0.1, inputs=1, overloaded=False)  # baseline 0.1 s per input
    assert lim.observe(now=10, seconds=1.0, inputs=1, overloaded=False) == 2  # 10x baseline
    assert lim.observe(now=20, seconds=0.1, inputs=1, overloaded=True) == 1  # a 503 or timeout
    assert lim.observe(now=30, seconds=0.1, inputs=1, overloaded=True) == 1
    # Latency is per input: a batch of 10 taking 10x longer is no pressure at all.
    assert lim.snapshot()["limit"] == 1
    r.hincrby("cortex:limiter", "denied", 1)
    assert lim.observe(now=40, seconds=1.0, inputs=10, overloaded=False) == 2


def test_a_shrunken_limit_recovers_when_nothing_is_observed(r: fakeredis.FakeRedis) -> None:
    # Cap 2 with 1 reserved: after one decrease chats have no slot and, with chats shed,
    # no call would ever raise the limit again.
    pool = SlotPool(r, cap=2, reserved=1, recover_s=0.3)
    r.hset("cortex:limiter", mapping={"limit": 1, "decreased_at": time.time()})
    held = pool.try_acquire(bulk=False, lease_s=5)
    assert held is not None and pool.try_acquire(bulk=True, lease_s=5) is None
    time.sleep(0.35)
    assert pool.try_acquire(bulk=True, lease_s=5) is not None
    assert int(r.hget("cortex:limiter", "limit") or 0) == 2


def test_a_freed_slot_wakes_a_waiting_alert_before_any_chat(r: fakeredis.FakeRedis) -> None:
    pool = SlotPool(r, cap=1, reserved=1)
    held = pool.try_acquire(bulk=False, lease_s=30)
    assert held is not None
    pool.release(held.token)  # nobody waits for alerts: everyone's wake-up
    assert (r.llen("cortex:slots:freed"), r.llen("cortex:slots:freed:priority")) == (1, 0)
    held = pool.try_acquire(bulk=False, lease_s=30)
    assert held is not None and pool.try_acquire(bulk=False, lease_s=30, token="alert") is None
    pool.release(held.token)  # an alert waits: only alert and search waiters hear this one
    assert r.llen("cortex:slots:freed:priority") == 1
