"""The run deadline: durations, and waits that never run past it."""

import pytest

from common.ingest.deadline import Deadline, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("2h", 7200), ("1.5h", 5400), ("45", 45), ("250ms", 0.25),
     (" 10 S ", 10), ("0", 0)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "-5s", "5d", "1h30m", "5 minutes"])
def test_bad_durations_say_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="try 90s, 30m, 2h"):
        parse_duration(text)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_wait_that_ends_before_the_deadline_sleeps() -> None:
    clock = Clock()
    deadline = Deadline(10, clock=clock, sleep=clock.sleep)
    assert deadline.wait(4) and clock.slept == [4]
    assert deadline.remaining_s() == 6 and deadline.elapsed_s() == 4


def test_a_wait_past_the_deadline_returns_at_once() -> None:
    clock = Clock()
    deadline = Deadline(10, clock=clock, sleep=clock.sleep)
    assert not deadline.wait(10) and clock.slept == []
    clock.now += 11
    assert deadline.expired() and deadline.remaining_s() == 0
