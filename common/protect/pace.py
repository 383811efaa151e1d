"""How long an embedding call should take and may take, judged against the learned baseline.

The adaptive limit learns, in Redis, the backend's baseline latency per input and a smoothed
ratio of recent latency to it (the latency pressure). From those two numbers follow the batch
size that keeps one call near a target duration, the read timeout a call gets and whether a
finished call was slow. Everything is relative to what this backend normally does: a slow but
steady backend is healthy, a fast one slowing down is not. Absolute seconds only bound it.
"""

from dataclasses import dataclass

from common.settings import CommonSettings


@dataclass(frozen=True)
class Pace:
    """The learned per-input latency (0 while nothing is learned) and the recent ratio to it."""

    baseline_s: float = 0.0
    pressure: float = 1.0

    @property
    def known(self) -> bool:
        """True once a call has been observed."""
        return self.baseline_s > 0

    def expected_s(self) -> float:
        """Per-input latency to expect now: the baseline, raised while latency is rising."""
        return self.baseline_s * max(1.0, self.pressure)

    def batch(self, target_s: float, most: int) -> int:
        """Inputs per call so that one call lasts about `target_s`; 1 until a call taught us."""
        if not self.known:
            return 1
        return max(1, min(most, round(target_s / self.expected_s())))

    def timeout_s(self, inputs: int, settings: CommonSettings) -> float:
        """Read timeout of a call: a multiple of its expected time, within the absolute bounds.

        While nothing is learned the maximum applies: the first call on a node as slow as the
        seed's (24-30 s an input) must not time out before it taught us anything.
        """
        s = settings
        floor = s.embed_timeout_base_s + s.embed_timeout_per_input_s * inputs
        if not self.known:
            return max(floor, s.embed_timeout_max_s)
        relative = s.embed_timeout_ratio * self.expected_s() * inputs
        return max(floor, min(s.embed_timeout_max_s, relative))

    def slow(self, seconds: float, inputs: int, ratio: float) -> bool:
        """Whether a call's per-input latency was `ratio` times the baseline or more."""
        return self.known and seconds / max(1, inputs) >= ratio * self.baseline_s
