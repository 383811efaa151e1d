"""Batch size, timeout and the slow-call rule follow the learned per-input latency."""

from common.protect.pace import Pace
from common.settings import CommonSettings

SETTINGS = CommonSettings(embed_timeout_base_s=30, embed_timeout_per_input_s=2,
                          embed_timeout_ratio=10, embed_timeout_max_s=600)  # fmt: skip


def test_nothing_learned_means_one_input_and_the_longest_timeout() -> None:
    pace = Pace()
    assert pace.batch(10, 32) == 1
    assert pace.timeout_s(1, SETTINGS) == 600
    assert not pace.slow(3600, 1, 4.0)


def test_batches_keep_one_call_near_the_target_and_stay_in_bounds() -> None:
    assert Pace(baseline_s=0.05).batch(10, 32) == 32  # a fast backend: full batches
    assert Pace(baseline_s=1.0).batch(10, 32) == 10  # the deployed node
    assert Pace(baseline_s=24.0).batch(10, 32) == 1  # the seed's node: one input a call
    assert Pace(baseline_s=1.0, pressure=2.5).batch(10, 32) == 4  # latency rising: shrink


def test_a_steady_slow_backend_is_healthy_a_slowing_one_is_not() -> None:
    seed = Pace(baseline_s=24.0)
    assert not seed.slow(26.0, 1, 4.0)  # 26 s for one input, as usual on that node
    assert seed.timeout_s(1, SETTINGS) == 240  # ten times what it takes, not 32 s
    fast = Pace(baseline_s=0.05)
    assert fast.slow(2.0, 8, 4.0)  # 0.25 s an input where 0.05 s is normal
    assert fast.timeout_s(8, SETTINGS) == 46  # the absolute floor: 30 s + 2 s an input


def test_timeouts_never_pass_the_maximum_once_learned() -> None:
    assert Pace(baseline_s=24.0, pressure=3.0).timeout_s(4, SETTINGS) == 600
