"""The feedback-loop guard at intake: alerts saying the embedding node is under pressure.

While one is firing, and for a cool-down after it resolves, bulk chat work waits (the guard
reads `cortex:pressure-alerts`). Entries expire by themselves, so a lost resolution cannot
pause chats forever.
"""

import re

from common.alertmanager import Alert, Notification
from common.items import alert_fingerprint
from common.settings import GatewaySettings


class PressureWatch:
    """Recognises pressure alerts and says how long each keeps bulk work paused."""

    def __init__(self, settings: GatewaySettings) -> None:
        self._names = re.compile(f"^(?:{settings.pressure_alertnames})$")
        self._node = settings.embed_node
        self._ttl_s = settings.pressure_alert_ttl_s
        self._cooldown_s = settings.pressure_cooldown_s

    def matches(self, alert: Alert) -> bool:
        """An alert about CPU or node pressure on the embedding node (any node if unset)."""
        if not self._names.match(alert.labels.get("alertname", "")):
            return False
        if not self._node:
            return True
        node = alert.labels.get("node") or alert.labels.get("instance", "").split(":")[0]
        return node == self._node

    def entries(self, notification: Notification, now: float) -> list[tuple[str, float]]:
        """(member, expires_at) for every matching alert, written by the enqueue script."""
        entries = []
        for alert in notification.alerts:
            if self.matches(alert):
                # Resolved: the entry stays for the cool-down, then expires like any other.
                expiry = self._ttl_s if alert.status == "firing" else self._cooldown_s
                entries.append((alert_fingerprint(alert), now + expiry))
        return entries
