"""A simulated Alertmanager: groups alerts by alertname and POSTs webhook v4 notifications.

Like Alertmanager: a group's first notification waits `group_wait`; after that the group is
flushed every `group_interval`, each flush sending the WHOLE group (every firing alert, plus
resolved ones not yet delivered). Alertmanager skips a flush when the group is unchanged since
its last delivered notification, until `repeat_interval` has passed; `repeat_interval_s=0`
(the default here) re-sends at every flush regardless, the worst case for a receiver that does
not deduplicate. A flush must be delivered before the next one is due (Alertmanager's notify
deadline): 5xx, network errors and timeouts are retried with backoff (x1.5) until then; any 4xx
drops the notification. Both count as failed deliveries, and a failed one is sent again.
"""

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
import requests

from bench.spiral.params import Params

_NO_END = "0001-01-01T00:00:00Z"
_MIN_ATTEMPT_S = 0.02


@dataclass(frozen=True)
class AmAlert:
    """One alert occurrence as Alertmanager holds it; resolved once `ends_at` is set."""

    labels: dict[str, str]
    annotations: dict[str, str]
    fingerprint: str
    starts_at: str
    ends_at: str | None = None

    @property
    def status(self) -> str:
        """firing or resolved."""
        return "resolved" if self.ends_at else "firing"

    @property
    def key(self) -> tuple[str, str]:
        """The occurrence: fingerprint and startsAt."""
        return self.fingerprint, self.starts_at

    def as_json(self) -> dict[str, Any]:
        """The alert in a webhook v4 body."""
        return {
            "status": self.status, "labels": self.labels, "annotations": self.annotations,
            "startsAt": self.starts_at, "endsAt": self.ends_at or _NO_END,
            "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
            "fingerprint": self.fingerprint,
        }  # fmt: skip


@dataclass
class Deliveries:
    """What the receiver made of the notifications sent to it."""

    notifications: int = 0
    delivered: int = 0
    attempts: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)
    accepted: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class _Group:
    name: str
    alerts: dict[str, AmAlert] = field(default_factory=dict)
    # What the last delivered notification carried, and when: Alertmanager's notification log.
    sent: frozenset[tuple[str, str, str]] = frozenset()
    sent_at: float = float("-inf")


def notification(group: str, alerts: list[AmAlert]) -> dict[str, Any]:
    """A version-4 webhook body for one flush of a group."""
    common = dict(alerts[0].labels)
    for alert in alerts[1:]:
        common = {k: v for k, v in common.items() if alert.labels.get(k) == v}
    firing = any(a.status == "firing" for a in alerts)
    return {
        "version": "4", "groupKey": f'{{}}:{{alertname="{group}"}}', "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved", "receiver": "spiral",
        "groupLabels": {"alertname": group}, "commonLabels": common, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093", "alerts": [a.as_json() for a in alerts],
    }  # fmt: skip


class Alertmanager:
    """One dispatcher thread per group, as long as the group holds alerts."""

    def __init__(self, url: str, params: Params) -> None:
        self._url = url
        self._p = params
        self._lock = threading.Lock()
        self._groups: dict[str, _Group] = {}
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self.deliveries = Deliveries()

    def update(self, alert: AmAlert) -> None:
        """Take a new or changed alert from Prometheus; a new group starts its own flushes."""
        name = alert.labels["alertname"]
        with self._lock:
            group = self._groups.get(name)
            if group is None:
                group = self._groups[name] = _Group(name)
                thread = threading.Thread(target=self._run, args=(group,), daemon=True)
                self._threads.append(thread)
                thread.start()
            group.alerts[alert.fingerprint] = alert

    def stop(self) -> None:
        """Stop flushing; a delivery in flight is abandoned at its deadline at the latest."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self._p.group_interval_s + 1)

    def _run(self, group: _Group) -> None:
        if self._stop.wait(self._p.group_wait_s):
            return
        while True:
            next_flush = time.monotonic() + self._p.group_interval_s
            with self._lock:
                if not group.alerts:
                    del self._groups[group.name]
                    return
                alerts = list(group.alerts.values())
            self._flush(group, alerts, deadline=next_flush)
            if self._stop.wait(max(0.0, next_flush - time.monotonic())):
                return

    def _flush(self, group: _Group, alerts: list[AmAlert], *, deadline: float) -> None:
        state = frozenset((a.fingerprint, a.starts_at, a.status) for a in alerts)
        repeat_due = time.monotonic() - group.sent_at >= self._p.repeat_interval_s
        if state == group.sent and not repeat_due:
            return
        if self._deliver(notification(group.name, alerts), deadline=deadline):
            group.sent, group.sent_at = state, time.monotonic()
            self._forget_resolved(group, alerts)

    def _forget_resolved(self, group: _Group, sent: list[AmAlert]) -> None:
        # A resolution, once delivered, leaves the group; an alert that fired again since
        # (a new occurrence under the same fingerprint) stays.
        with self._lock:
            for alert in sent:
                if alert.status == "resolved" and group.alerts.get(alert.fingerprint) == alert:
                    del group.alerts[alert.fingerprint]

    def _deliver(self, body: dict[str, Any], *, deadline: float) -> bool:
        data = orjson.dumps(body)
        keys = {(a["fingerprint"], a["startsAt"]) for a in body["alerts"]}
        backoff_s, outcome = self._p.retry_backoff_s, "timeout"
        with self._lock:
            self.deliveries.notifications += 1
        while (remaining := deadline - time.monotonic()) > _MIN_ATTEMPT_S:
            outcome = self._attempt(data, timeout_s=remaining)
            if outcome == "ok":
                with self._lock:
                    self.deliveries.delivered += 1
                    self.deliveries.accepted |= keys
                return True
            if outcome == "4xx" or self._stop.is_set():
                break
            time.sleep(max(0.0, min(backoff_s, deadline - time.monotonic())))
            backoff_s *= 1.5
        if self._stop.is_set():
            return False  # abandoned at the end of the run, not refused by the receiver
        with self._lock:
            self.deliveries.failed[outcome] += 1
        return False

    def _attempt(self, data: bytes, *, timeout_s: float) -> str:
        started = time.monotonic()
        try:
            response = requests.post(
                self._url, data=data, timeout=timeout_s,
                headers={"Content-Type": "application/json", "User-Agent": "Alertmanager/0.25"},
            )  # fmt: skip
            outcome = _outcome(response.status_code)
        except requests.Timeout:
            outcome = "timeout"
        except requests.RequestException:
            outcome = "network error"
        with self._lock:
            # A timed-out attempt counts at its timeout: the receiver's real latency is longer.
            self.deliveries.latencies_s.append(time.monotonic() - started)
            self.deliveries.attempts += 1
        return outcome


def _outcome(status: int) -> str:
    if 200 <= status < 300:
        return "ok"
    if 400 <= status < 500:
        return "4xx"
    return "5xx"
