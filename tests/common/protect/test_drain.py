"""Retry-After from the drain rate: when the backlog will be back under the low-water mark."""

import fakeredis
import pytest

from common.protect import drain


def test_retry_after_follows_the_rate() -> None:
    # 10 items/s; 1000 over 90 % of a 10000 cap = 100 s.
    assert drain.retry_after_s(10_000, 10_000, 10.0, low_water=0.9, max_s=300) == 100
    assert drain.retry_after_s(10_000, 10_000, 1000.0, low_water=0.9, max_s=300) == 1
    assert drain.retry_after_s(10_000, 10_000, 0.1, low_water=0.9, max_s=300) == 300


def test_nothing_drained_means_the_maximum() -> None:
    assert drain.retry_after_s(5000, 5000, 0.0, low_water=0.9, max_s=120) == 120
    assert drain.rate_per_s([0] * 7, now=1005.0) == 0.0


def test_rate_counts_from_the_first_bucket_that_drained() -> None:
    # A full minute of 100 per bucket plus 50 in the first 5 s of the current one.
    assert drain.rate_per_s([100] * 6 + [50], now=1005.0) == pytest.approx(650 / 65)
    # Draining started in the current bucket 5 s ago: a rate already, not "nothing".
    assert drain.rate_per_s([0] * 6 + [50], now=1005.0) == pytest.approx(10.0)


def test_recorded_items_land_in_their_buckets() -> None:
    r = fakeredis.FakeRedis()
    drain.record(r, "chat", 30, now=1000.0)
    drain.record(r, "chat", 12, now=1012.0)
    values = [int(v or 0) for v in r.mget(drain.bucket_keys("chat", 1015.0))]
    assert values == [0, 0, 0, 0, 0, 30, 12]
