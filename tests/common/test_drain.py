"""Retry-After from the drain rate: when the backlog will be back under the low-water mark."""

import fakeredis

from common import drain


def test_retry_after_follows_the_measured_rate() -> None:
    # 600 items drained in the last minute = 10/s; 1000 over 90 % of a 10000 cap = 100 s.
    assert drain.retry_after_s(10_000, 10_000, 600, low_water=0.9, max_s=300) == 100
    assert drain.retry_after_s(10_000, 10_000, 60_000, low_water=0.9, max_s=300) == 1
    assert drain.retry_after_s(10_000, 10_000, 6, low_water=0.9, max_s=300) == 300


def test_nothing_drained_means_the_maximum() -> None:
    assert drain.retry_after_s(5000, 5000, 0, low_water=0.9, max_s=120) == 120


def test_recorded_items_show_up_in_the_completed_buckets_only() -> None:
    r = fakeredis.FakeRedis()
    drain.record(r, "chat", 30, now=1000.0)
    drain.record(r, "chat", 12, now=1005.0)
    assert sum(int(v or 0) for v in r.mget(drain.bucket_keys("chat", 1005.0))) == 0
    assert sum(int(v or 0) for v in r.mget(drain.bucket_keys("chat", 1012.0))) == 42
    assert sum(int(v or 0) for v in r.mget(drain.bucket_keys("chat", 1075.0))) == 0
