"""The one place every embedding call passes: breaker, rate limits, slots, adaptive limit.

Work that cannot run now is refused with `Shed` before anything reaches the backend; callers
park it (workers) or answer 503 (search). Each call's outcome feeds the breaker and the
adaptive limit, so the harder the backend struggles, the less is asked of it. Every judgement
of latency (slow call, timeout, batch size) is relative to the learned baseline (`pace.py`).
"""

import time
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import redis

from common import keys
from common.errors import BackendOverloaded, CortexError, Shed, TransientError
from common.protect import telemetry
from common.protect.adaptive import AdaptiveLimit
from common.protect.breaker import Breaker, Outcome, Permit
from common.protect.pace import Pace
from common.protect.ratelimit import RateLimits
from common.protect.slots import Grant, SlotPool
from common.settings import CommonSettings

V = TypeVar("V")
Kind = Literal["alert", "chat", "search"]
# One backend call: the texts, and the read timeout it may take.
EmbedCall = Callable[[Sequence[str], float], list[V]]


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
        self.settings = s
        self.slots = SlotPool(
            r, cap=s.concurrency_cap, reserved=s.slots_reserved, recover_s=s.adaptive_recover_s
        )
        self.breaker = Breaker(
            r, window_s=s.breaker_window_s, min_calls=s.breaker_min_calls,
            failure_rate=s.breaker_failure_rate, slow_rate=s.breaker_slow_rate,
            open_s=s.breaker_open_s, half_open_probes=s.breaker_half_open_probes,
        )  # fmt: skip
        self.limit = AdaptiveLimit(
            r, cap=s.concurrency_cap, increase_below=s.adaptive_increase_below,
            decrease_above=s.adaptive_decrease_above, decrease_factor=s.adaptive_decrease_factor,
            floor_s=s.adaptive_latency_floor_s,
        )  # fmt: skip
        self.rates = RateLimits(settings, **(redis_options or {}))

    def batch_size(self) -> int:
        """Inputs one call should carry now: the target duration on the learned latency."""
        s = self.settings
        return self.limit.pace().batch(s.embed_call_target_s, s.embed_batch_size)

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
        fresh = observed_at and time.time() - float(observed_at) < self.settings.brownout_hold_s
        if fresh and pressure and float(pressure) >= self.settings.brownout_latency_ratio:
            return "brownout_latency"
        if pressure_alerts:
            return "node_pressure"
        return None

    def call(
        self, kind: Kind, texts: Sequence[str], embed: EmbedCall[V], *, wait_s: float
    ) -> list[V]:
        """One guarded backend call for a prefix of `texts`, or Shed without calling.

        The prefix is all of them, except on a borrowed slot, where the call is cut to the
        borrow target so that an alert arriving meanwhile soon gets the slot.
        """
        if kind == "chat" and (reason := self.bulk_pause_reason()):
            raise self._shed(kind, reason)
        permit = self.breaker.allow()
        if permit is None:
            raise self._shed(kind, "breaker_open")
        pace = self.limit.pace()
        try:
            grant, texts = self._admit(kind, texts, pace, wait_s)
        except Shed:
            self.breaker.record(permit, "cancelled")  # a probe that never ran goes back
            raise
        return self._timed(kind, texts, embed, permit=permit, grant=grant, pace=pace)

    def _admit(
        self, kind: Kind, texts: Sequence[str], pace: Pace, wait_s: float
    ) -> tuple[Grant, Sequence[str]]:
        # The slot comes first: only then is the call's size known (a borrowed slot cuts it),
        # and the rate budgets are charged for what is really sent. A spent budget frees up
        # within the minute, so wait a little, without holding the slot meanwhile.
        deadline = time.monotonic() + wait_s
        lease_s = self._lease_s(pace, len(texts))
        while True:
            grant = self.slots.acquire(bulk=kind == "chat", lease_s=lease_s, wait_s=wait_s)
            if grant is None:
                raise self._shed(kind, "no_slot")
            if grant.borrowed:
                texts = texts[: pace.batch(self.settings.slots_borrow_target_s, len(texts))]
            if self.rates.allow(kind, len(texts)):
                return grant, texts
            self.slots.release(grant.token)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._shed(kind, "rate_limited")
            time.sleep(min(1.0, remaining))
            wait_s = max(0.0, deadline - time.monotonic())

    def _lease_s(self, pace: Pace, inputs: int) -> float:
        # The lease outlives the call's own timeouts, so a live call never loses its slot.
        return pace.timeout_s(inputs, self.settings) + self.settings.embed_connect_timeout_s + 5

    def _timed(
        self, kind: Kind, texts: Sequence[str], embed: EmbedCall[V], *, permit: Permit,
        grant: Grant, pace: Pace,
    ) -> list[V]:  # fmt: skip
        started = time.monotonic()
        failure: CortexError | None = None
        try:
            result = embed(texts, pace.timeout_s(len(texts), self.settings))
        except CortexError as exc:
            failure = exc
        finally:
            seconds = time.monotonic() - started
            # Given back the moment the backend is done: accounting must not idle the slot.
            self.slots.release(grant.token)
        if failure is None:
            self._succeeded(kind, len(texts), permit, seconds, pace)
            return result
        if isinstance(failure, BackendOverloaded):
            self._account(kind, len(texts), permit, seconds, "failed", overloaded=True)
        elif isinstance(failure, TransientError):
            self._account(kind, len(texts), permit, seconds, "failed", overloaded=False)
        else:
            # The backend answered: bad input says nothing about its health.
            self._account(kind, len(texts), permit, seconds, "ok", overloaded=False)
        raise failure

    def _succeeded(
        self, kind: Kind, inputs: int, permit: Permit, seconds: float, pace: Pace
    ) -> None:
        if not pace.slow(seconds, inputs, self.settings.breaker_slow_call_ratio):
            self._account(kind, inputs, permit, seconds, "ok", overloaded=False)
        elif permit.probe and not self._node_under_pressure():
            # Slower for good, yet nothing says the node is loaded: the backend is healthy at
            # its new speed. Learn it, rather than keep the breaker open for ever.
            self._account(kind, inputs, permit, seconds, "ok", overloaded=False, rebaseline=True)
            telemetry.count(self._redis, "breaker:rebaselined")
        else:
            self._account(kind, inputs, permit, seconds, "slow", overloaded=False)

    def _node_under_pressure(self) -> bool:
        return bool(self._redis.zcount(keys.PRESSURE_ALERTS, time.time(), "+inf"))

    def _account(
        self, kind: Kind, inputs: int, permit: Permit, seconds: float,
        outcome: Outcome, *, overloaded: bool, rebaseline: bool = False,
    ) -> None:  # fmt: skip
        self.breaker.record(permit, outcome)
        if outcome != "failed" or overloaded:
            self.limit.observe(
                now=time.time(), seconds=seconds, inputs=inputs, overloaded=overloaded,
                rebaseline=rebaseline,
            )  # fmt: skip
        telemetry.observe_call(self._redis, kind, seconds=seconds, inputs=inputs)
        telemetry.count(self._redis, f"embed_calls:{kind}:{outcome}")

    def _shed(self, kind: Kind, reason: str) -> Shed:
        telemetry.count(self._redis, f"shed:{kind}:{reason}")
        return Shed(reason)
