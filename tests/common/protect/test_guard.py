"""The guard judges calls against the learned baseline, on a real Redis server."""

from collections.abc import Iterator, Sequence

import pytest
import redis

from common.cli.redisserver import RedisServer
from common.protect.guard import EmbedGuard
from common.settings import CommonSettings


@pytest.fixture
def r(clean_redis: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(clean_redis.url)
    yield client
    client.close()


def guard(r: redis.Redis, url: str, **overrides: object) -> EmbedGuard:
    settings = CommonSettings(
        redis_url=url, breaker_min_calls=2, breaker_window_s=60, breaker_open_s=1, **overrides
    )  # type: ignore[arg-type]
    return EmbedGuard(r, settings)


class Clock:
    """An embed call whose latency per input the test sets; records what it was sent."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, per_input_s: float) -> None:
        self.per_input_s = per_input_s
        self.now = 1000.0
        self.calls: list[tuple[int, float]] = []
        monkeypatch.setattr("common.protect.guard.time.monotonic", lambda: self.now)

    def __call__(self, texts: Sequence[str], timeout_s: float) -> list[int]:
        self.calls.append((len(texts), timeout_s))
        self.now += self.per_input_s * len(texts)
        return list(range(len(texts)))


def test_a_slow_but_steady_backend_is_healthy(
    r: redis.Redis, clean_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    g, clock = guard(r, clean_redis.url), Clock(monkeypatch, per_input_s=24.0)
    for _ in range(6):
        texts = ["t"] * g.batch_size()
        assert len(g.call("alert", texts, clock, wait_s=1)) == len(texts)
    assert [n for n, _ in clock.calls] == [1] * 6  # the seed's node: one input a call
    assert clock.calls[0][1] == 600 and clock.calls[-1][1] == pytest.approx(240, rel=0.01)
    assert g.breaker.state() == "closed"
    assert int(r.hget("cortex:counters", "embed_calls:alert:slow") or 0) == 0


def test_a_backend_slowing_down_shrinks_the_limit_and_opens_the_breaker(
    r: redis.Redis, clean_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    g, clock = guard(r, clean_redis.url), Clock(monkeypatch, per_input_s=1.0)
    for _ in range(4):
        g.call("alert", ["t"] * 4, clock, wait_s=1)
    assert g.limit.snapshot()["limit"] == 2
    clock.per_input_s = 5.0
    g.call("alert", ["t"] * 4, clock, wait_s=1)
    assert g.limit.snapshot()["limit"] == 1  # the limit falls at once
    for _ in range(2):
        g.call("alert", ["t"] * 4, clock, wait_s=1)
    assert g.breaker.state() == "closed"  # 3 slow of 7: not yet the rule (half)
    g.call("alert", ["t"] * 4, clock, wait_s=1)
    assert int(r.hget("cortex:counters", "embed_calls:alert:slow") or 0) == 4
    assert g.breaker.state() == "open"


def test_a_slow_probe_with_no_node_pressure_learns_the_new_speed(
    r: redis.Redis, clean_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    g, clock = guard(r, clean_redis.url), Clock(monkeypatch, per_input_s=1.0)
    g.call("alert", ["t"], clock, wait_s=1)
    r.hset("cortex:breaker", mapping={"state": "open", "since": 0})  # opened long ago
    clock.per_input_s = 5.0
    g.call("alert", ["t"], clock, wait_s=1)
    g.call("alert", ["t"], clock, wait_s=1)
    assert g.breaker.state() == "closed"
    assert g.limit.pace().baseline_s == pytest.approx(5.0, rel=0.05)
    assert g.batch_size() == 2  # ten seconds a call at the new speed


def test_a_borrowed_slot_carries_a_short_call(
    r: redis.Redis, clean_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    g, clock = guard(r, clean_redis.url), Clock(monkeypatch, per_input_s=0.5)
    g.call("chat", ["t"], clock, wait_s=1)  # learns 0.5 s an input
    own = g.slots.try_acquire(bulk=True, lease_s=30)  # chats' own share (cap 2, 1 reserved)
    assert own is not None
    assert len(g.call("chat", ["t"] * 20, clock, wait_s=1)) == 4  # borrowed: 2 s of work
    g.slots.release(own.token)
    assert len(g.call("chat", ["t"] * 20, clock, wait_s=1)) == 20
