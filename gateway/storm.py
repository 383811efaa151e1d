"""Which alerts are coalesced into digest documents instead of being embedded one by one.

An alert storm (more than `storm_threshold` distinct alerts of one alertname in one window, or
one notification carrying that many) and alerts about cluster-cortex itself cost one embedding
per window, not one per alert: the feedback loop of the incident cannot grow through them.
"""

import hashlib
from dataclasses import dataclass

from common import keys
from common.alertmanager import Alert, Notification
from common.items import alert_fingerprint
from common.settings import GatewaySettings


@dataclass(slots=True)
class StormPlan:
    """One alert's part in storm detection (see `common.enqueue.Candidate`)."""

    storm_set: str
    member: str
    digest: str
    storm_digest: str


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

    def plan(self, notification: Notification, now: float) -> tuple[list[StormPlan], float]:
        """Per alert, how it takes part in storm detection, and when this window's digests are due.

        The counting itself happens in the enqueue script, in the same round trip as the
        enqueue: an alert whose alertname set is over the threshold joins `storm_digest`.
        """
        window = int(now // self._window_s)
        due = float((window + 1) * self._window_s)
        group_storm = len(notification.alerts) > self._threshold
        group_id = (
            hashlib.sha256(notification.group_key.encode()).hexdigest()[:16] if group_storm else ""
        )
        plans = []
        for alert in notification.alerts:
            name = alert.labels.get("alertname", "")
            forced = ""
            if self._is_self(alert):
                forced = keys.digest_buffer(f"self:{window}")
            elif group_storm:
                forced = keys.digest_buffer(f"group:{group_id}:{window}")
            plans.append(
                StormPlan(
                    storm_set=keys.storm_set(name, window),
                    member=alert_fingerprint(alert),
                    digest=forced,
                    storm_digest=keys.digest_buffer(f"name:{name}:{window}"),
                )
            )
        return plans, due

    @property
    def threshold(self) -> int:
        """Distinct alerts of one alertname per window above which they form a storm."""
        return self._threshold

    @property
    def set_ttl_s(self) -> int:
        """How long a window's fingerprint set lives: past its window, then gone."""
        return 2 * self._window_s
