"""The run deadline: parsed from `90s`/`30m`/`2h`/seconds, and waits that never pass it."""

import re
import time
from collections.abc import Callable

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """Seconds in `text` (`90s`, `30m`, `2h`, `1.5h`, `250ms` or plain seconds)."""
    match = _DURATION.match(text.lower())
    if match is None:
        raise ValueError(f"not a duration: {text!r} (try 90s, 30m, 2h or seconds)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


class Deadline:
    """A point in monotonic time; waits are cut at it instead of running past."""

    def __init__(
        self,
        seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self.started = clock()
        self.at = self.started + seconds

    def remaining_s(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - self._clock())

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.remaining_s() <= 0

    def elapsed_s(self) -> float:
        """Seconds since the run started."""
        return self._clock() - self.started

    def wait(self, seconds: float) -> bool:
        """Sleep `seconds` if that ends before the deadline; False (without sleeping) if not."""
        if seconds >= self.remaining_s():
            return False
        self._sleep(seconds)
        return True
