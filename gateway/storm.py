"""Which alerts are coalesced into digest documents instead of being embedded one by one.

An alert storm (more than `storm_threshold` distinct alerts of one alertname in one window, or
one notification carrying that many) and alerts about cluster-cortex itself cost one embedding
per window, not one per alert: the feedback loop of the incident cannot grow through them.
"""

import hashlib
import time
from collections import Counter

from redis.asyncio import Redis

from common import keys
from common.alertmanager import Alert, Notification
from common.items import alert_fingerprint
from common.settings import GatewaySettings


class StormWatch:
    """Counts distinct alerts per alertname per window and names each alert's digest, if any."""

    def __init__(self, settings: GatewaySettings) -> None:
        self._threshold = settings.storm_threshold
        self._window_s = settings.storm_window_s
        self._self_namespace = settings.self_namespace

    def _is_self(self, alert: Alert) -> bool:
        labels = alert.labels
        return labels.get("namespace") == self._self_namespace or (
            labels.get("service") == "cluster-cortex"
        )

    async def digests(self, redis: Redis, notification: Notification) -> tuple[list[str], float]:
        """Per alert, the digest buffer it joins ("" for none), and when that digest is due."""
        window = int(time.time() // self._window_s)
        due = (window + 1) * self._window_s
        names = [a.labels.get("alertname", "") for a in notification.alerts]
        distinct = await self._count(redis, notification, names, window)
        group_storm = len(notification.alerts) > self._threshold
        group_id = hashlib.sha256(notification.group_key.encode()).hexdigest()[:16]
        chosen = []
        for alert, name in zip(notification.alerts, names, strict=True):
            if self._is_self(alert):
                chosen.append(keys.digest_buffer(f"self:{window}"))
            elif group_storm:
                chosen.append(keys.digest_buffer(f"group:{group_id}:{window}"))
            elif distinct[name] > self._threshold:
                chosen.append(keys.digest_buffer(f"name:{name}:{window}"))
            else:
                chosen.append("")
        return chosen, float(due)

    async def _count(
        self, redis: Redis, notification: Notification, names: list[str], window: int
    ) -> Counter[str]:
        # Sets of fingerprints, not counters: Alertmanager's re-sends must not look like a storm.
        by_name: dict[str, list[str]] = {}
        for alert, name in zip(notification.alerts, names, strict=True):
            by_name.setdefault(name, []).append(alert_fingerprint(alert))
        async with redis.pipeline(transaction=False) as pipe:
            for name, fingerprints in by_name.items():
                key = f"{keys.PREFIX}storm:{name}:{window}"
                pipe.sadd(key, *fingerprints)
                pipe.expire(key, 2 * self._window_s)
                pipe.scard(key)
            results = await pipe.execute()
        return Counter({name: int(results[3 * i + 2]) for i, name in enumerate(by_name)})
