"""The one place every embedding call passes: breaker, rate limits, slots, adaptive limit.

Work that cannot run now is refused with `Shed` before anything reaches the backend; callers
park it (workers) or answer 503 (search). Each call's outcome feeds the breaker and the
adaptive limit, so the harder the backend struggles, the less is asked of it.
"""

import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import redis

from common import keys, telemetry
from common.adaptive import AdaptiveLimit
from common.breaker import Breaker, Outcome, Permit
from common.errors import BackendOverloaded, CortexError, Shed, TransientError
from common.ratelimit import RateLimits
from common.settings import CommonSettings
from common.slots import SlotPool

T = TypeVar("T")
Kind = Literal["alert", "chat", "search"]


class EmbedGuard:
    """Admits, times and accounts embedding calls for every process sharing one Redis."""

    def __init__(
        self,
        r: redis.Redis,
        settings: CommonSettings,
        *,
        redis_options: dict[str, Any] | None = None,
    ) -> None:
        s = settings
        self._redis = r
        self._slow_call_s = s.breaker_slow_call_s
        self._brownout_ratio = s.brownout_latency_ratio
        self._brownout_hold_s = s.brownout_hold_s
        self.slots = SlotPool(
            r, cap=s.slots_cap, reserved=s.slots_reserved, recover_s=s.adaptive_recover_s
        )
        self.breaker = Breaker(
            r, window_s=s.breaker_window_s, min_calls=s.breaker_min_calls,
            failure_rate=s.breaker_failure_rate, slow_rate=s.breaker_slow_rate,
            open_s=s.breaker_open_s, half_open_probes=s.breaker_half_open_probes,
        )  # fmt: skip
        self.limit = AdaptiveLimit(
            r, cap=s.slots_cap, increase_below=s.adaptive_increase_below,
            decrease_above=s.adaptive_decrease_above, decrease_factor=s.adaptive_decrease_factor,
            floor_s=s.adaptive_latency_floor_s,
        )  # fmt: skip
        self.rates = RateLimits(settings, **(redis_options or {}))

    def bulk_pause_reason(self) -> str | None:
        """Why bulk (chat) work must wait now: a manual pause, brownout, or node pressure."""
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(keys.PAUSED, "chats")
            pipe.hmget(keys.LIMITER, ["pressure", "observed_at"])
            pipe.hget(keys.BREAKER, "state")
            pipe.zcount(keys.PRESSURE_ALERTS, time.time(), "+inf")
            paused, (pressure, observed_at), breaker, pressure_alerts = pipe.execute()
        if paused:
            return "paused"
        if breaker not in (None, b"closed"):
            return "brownout_breaker"
        # A pressure reading goes stale: with chats parked and nothing else calling, chats
        # must get to probe the backend again rather than wait for a reading that never comes.
        fresh = observed_at and time.time() - float(observed_at) < self._brownout_hold_s
        if fresh and pressure and float(pressure) >= self._brownout_ratio:
            return "brownout_latency"
        if pressure_alerts:
            return "node_pressure"
        return None

    def run(
        self, kind: Kind, inputs: int, call: Callable[[], T], *, lease_s: float, wait_s: float
    ) -> T:
        """Run `call` under the guard, or raise Shed without calling the backend."""
        if kind == "chat" and (reason := self.bulk_pause_reason()):
            raise self._shed(kind, reason)
        permit = self.breaker.allow()
        if permit is None:
            raise self._shed(kind, "breaker_open")
        try:
            if not self._wait_for_rate(kind, inputs, wait_s):
                raise self._shed(kind, "rate_limited")
            token = self.slots.acquire(bulk=kind == "chat", lease_s=lease_s, wait_s=wait_s)
            if token is None:
                raise self._shed(kind, "no_slot")
        except Shed:
            self.breaker.record(permit, "cancelled")  # a probe that never ran goes back
            raise
        return self._timed(kind, inputs, permit, call, token)

    def _wait_for_rate(self, kind: Kind, inputs: int, wait_s: float) -> bool:
        # A spent budget frees up within the minute: wait a little before giving up.
        deadline = time.monotonic() + wait_s
        while not self.rates.allow(kind, inputs):
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        return True

    def _timed(
        self, kind: Kind, inputs: int, permit: Permit, call: Callable[[], T], token: str
    ) -> T:
        started = time.monotonic()
        failure: CortexError | None = None
        try:
            result = call()
        except CortexError as exc:
            failure = exc
        finally:
            seconds = time.monotonic() - started
            # Given back the moment the backend is done: accounting must not idle the slot.
            self.slots.release(token)
        if failure is None:
            outcome: Outcome = "slow" if seconds >= self._slow_call_s else "ok"
            self._account(kind, inputs, permit, seconds, outcome, overloaded=False)
            return result
        if isinstance(failure, BackendOverloaded):
            self._account(kind, inputs, permit, seconds, "failed", overloaded=True)
        elif isinstance(failure, TransientError):
            self._account(kind, inputs, permit, seconds, "failed", overloaded=False)
        else:
            # The backend answered: bad input says nothing about its health.
            self._account(kind, inputs, permit, seconds, "ok", overloaded=False)
        raise failure

    def _account(
        self, kind: Kind, inputs: int, permit: Permit, seconds: float,
        outcome: Outcome, *, overloaded: bool,
    ) -> None:  # fmt: skip
        self.breaker.record(permit, outcome)
        if outcome != "failed" or overloaded:
            self.limit.observe(
                now=time.time(), seconds=seconds, inputs=inputs, overloaded=overloaded
            )
        telemetry.observe_call(self._redis, kind, seconds=seconds, inputs=inputs)
        telemetry.count(self._redis, f"embed_calls:{kind}:{outcome}")

    def _shed(self, kind: Kind, reason: str) -> Shed:
        telemetry.count(self._redis, f"shed:{kind}:{reason}")
        return Shed(reason)
