"""Cluster-wide rate limits on embedding calls and inputs per kind, as moving windows in Redis.

Celery's `rate_limit` is per worker node and multiplies with replicas; these hold across all.
"""

from typing import Any

from limits import RateLimitItemPerMinute
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from common.settings import CommonSettings


class RateLimits:
    """Calls per minute and inputs per minute for each kind of embedding work."""

    def __init__(self, settings: CommonSettings, **redis_options: Any) -> None:
        storage = RedisStorage(
            settings.redis_url,
            socket_timeout=settings.redis_timeout_s,
            socket_connect_timeout=settings.redis_timeout_s,
            **redis_options,
        )
        self._limiter = MovingWindowRateLimiter(storage)
        s = settings
        self._calls = {
            "alert": RateLimitItemPerMinute(s.alert_calls_per_min),
            "chat": RateLimitItemPerMinute(s.chat_calls_per_min),
            "search": RateLimitItemPerMinute(s.search_calls_per_min),
        }
        self._inputs = {
            "alert": RateLimitItemPerMinute(s.alert_inputs_per_min),
            "chat": RateLimitItemPerMinute(s.chat_inputs_per_min),
        }

    def allow(self, kind: str, inputs: int) -> bool:
        """Take one call and `inputs` inputs from the kind's budgets; False if either is spent."""
        if not self._limiter.hit(self._calls[kind], "cortex", kind, "calls"):
            return False
        budget = self._inputs.get(kind)
        if budget is None:
            return True
        return bool(
            self._limiter.hit(budget, "cortex", kind, "inputs", cost=min(inputs, budget.amount))
        )
