"""A simulated Prometheus: scrapes the node's pressure and evaluates the incident's alert rules.

Every scrape reads the node's average pressure over the last scrape interval and applies:

- **Pods fail their probes** while pressure is above 1.0: each such scrape `ceil(pressure - 1)`
  more pods (from a fixed list, the same order in every run) start crash looping and fire
  `KubePodCrashLooping`. They recover together once pressure has stayed at or below 1.0 for
  `pod_recover_scrapes` scrapes (probes pass again, back-off ends). A crash-looping pod keeps
  restarting, which adds `restart_cores_per_pod` to the node's background load.
- **`NodeHighLoad{node="node02"}`** fires once pressure has been above 1.0 for
  `high_load_for_scrapes` scrapes (its `for:`), and resolves at the first scrape at or below 1.0.

- **Steady alerts** (`steady_alerts_per_s`, 0 by default): while the chat job runs, pods on
  another node become not ready at a steady rate (`KubePodNotReady{node="node03"}`), each a new
  pod that recovers after `pod_recover_scrapes` scrapes: alert work whatever node02's pressure.

Each firing is a new occurrence with its own `startsAt`; the fingerprint is stable per alert.
"""

import hashlib
import math
import random
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bench.spiral.alertmanager import Alertmanager, AmAlert
from bench.spiral.node import NodeModel
from bench.spiral.params import Params

NODE = "node02"
_APPS = {
    "mail": ["mailu-front", "mailu-webmail", "mailu-imap", "mailu-smtp", "mailu-admin"],
    "immich": ["immich-server", "immich-machine-learning", "immich-redis", "immich-postgres"],
    "nextcloud": ["nextcloud", "nextcloud-talk-hpb", "nextcloud-cron", "nextcloud-redis"],
    "search": ["searxng", "searxng-redis"],
    "cluster-cortex": ["cortex-gateway", "cortex-worker-alerts", "cortex-worker-chats"],
    "storage": ["seaweedfs-volume", "seaweedfs-filer", "seaweedfs-csi-node"],
    "monitoring": ["node-exporter", "kube-state-metrics", "grafana", "loki"],
    "ai": ["librechat", "librechat-mongodb", "qdrant", "ollama"],
}


@dataclass(frozen=True)
class Sample:
    """One scrape: seconds since the storm started and the average pressure since the last."""

    t: float
    pressure: float


def now_rfc3339() -> str:
    """Wall-clock time as Alertmanager writes it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fingerprint(labels: dict[str, str]) -> str:
    """A stable 16-hex fingerprint of a label set, like Alertmanager's."""
    text = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def pod_alert(namespace: str, pod: str) -> AmAlert:
    """KubePodCrashLooping for one pod on node02, firing now."""
    labels = {
        "alertname": "KubePodCrashLooping", "severity": "warning",
        "namespace": namespace, "pod": pod, "container": pod.rsplit("-", 2)[0], "node": NODE,
    }  # fmt: skip
    annotations = {
        "summary": f"Pod {namespace}/{pod} is crash looping",
        "description": "Liveness probe failed: command timed out after 5s",
    }
    return AmAlert(labels, annotations, fingerprint(labels), now_rfc3339())


def high_load_alert(pressure: float) -> AmAlert:
    """NodeHighLoad on node02, firing now."""
    labels = {"alertname": "NodeHighLoad", "severity": "critical", "node": NODE,
              "instance": f"{NODE}:9100"}  # fmt: skip
    annotations = {
        "summary": f"Load on {NODE} is {pressure:.1f}x its cores",
        "description": "node_load1 / count(node_cpu_seconds_total{mode='idle'}) > 1",
    }
    return AmAlert(labels, annotations, fingerprint(labels), now_rfc3339())


def steady_alert(index: int) -> AmAlert:
    """KubePodNotReady for the `index`-th pod of a batch job on another node, firing now."""
    pod = f"nightly-report-{index:04d}"
    labels = {"alertname": "KubePodNotReady", "severity": "warning", "namespace": "batch",
              "pod": pod, "node": "node03"}  # fmt: skip
    annotations = {
        "summary": f"Pod batch/{pod} has been in a non-ready state for longer than 15 minutes",
        "description": "Readiness probe failed: connection refused",
    }
    return AmAlert(labels, annotations, fingerprint(labels), now_rfc3339())


def pod_names(n: int, seed: int) -> list[tuple[str, str]]:
    """`n` (namespace, pod) pairs in a fixed shuffled order."""
    rng = random.Random(seed)
    pods = [(ns, app) for ns, apps in _APPS.items() for app in apps]
    names = []
    for i in range(n):
        ns, app = pods[i % len(pods)]
        names.append((ns, f"{app}-{rng.randrange(16**5):05x}-{rng.randrange(16**5):05x}"))
    rng.shuffle(names)
    return names


class Prometheus:
    """Scrapes every `scrape_s` in its own thread and hands alert changes to Alertmanager."""

    def __init__(self, model: NodeModel, alertmanager: Alertmanager, params: Params) -> None:
        self._model = model
        self._am = alertmanager
        self._p = params
        self._pods = pod_names(params.pods, params.seed)
        self._failing: dict[int, AmAlert] = {}
        self._high_load: AmAlert | None = None
        self._over = 0
        self._calm = 0
        self._steady: list[tuple[AmAlert, int]] = []
        self._steady_due = 0.0
        self.steady_alerts = 0
        self.samples: list[Sample] = []
        self.first_pressure_alert_s: float | None = None
        self.pressure_alerts = 0
        self.pod_alerts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="prometheus", daemon=True)
        self._t0 = 0.0

    def start(self, t0: float) -> None:
        """Scrape from now on; sample times are relative to `t0` (monotonic)."""
        self._t0 = t0
        self._thread.start()

    def stop(self) -> None:
        """Stop scraping."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        last = self._model.mark()
        tick = last.at
        while not self._stop.is_set():
            tick += self._p.scrape_s
            if self._stop.wait(max(0.0, tick - time.monotonic())):
                return
            mark = self._model.mark()
            pressure = (mark.integral - last.integral) / max(1e-9, mark.at - last.at)
            last = mark
            t = round(mark.at - self._t0, 3)
            self.samples.append(Sample(t, pressure))
            self._evaluate(pressure, t)
            self._steady_alerts(t)

    def _evaluate(self, pressure: float, t: float) -> None:
        high = pressure > 1.0
        self._over = self._over + 1 if high else 0
        self._calm = 0 if high else self._calm + 1
        if high:
            self._fail_pods(math.ceil(pressure - 1.0))
        elif self._calm >= self._p.pod_recover_scrapes:
            self._recover_pods()
        self._model.set_extra_load(self._p.restart_cores_per_pod * len(self._failing))
        self._node_high_load(pressure, t)

    def _steady_alerts(self, t: float) -> None:
        recovered = [a for a, scrapes in self._steady if scrapes >= self._p.pod_recover_scrapes]
        for alert in recovered:
            self._am.update(replace(alert, ends_at=now_rfc3339()))
        self._steady = [(a, n + 1) for a, n in self._steady if n < self._p.pod_recover_scrapes]
        if t > self._p.storm_s:
            return
        self._steady_due += self._p.steady_alerts_per_s * self._p.scrape_s
        while self._steady_due >= 1.0:
            self._steady_due -= 1.0
            alert = steady_alert(self.steady_alerts)
            self.steady_alerts += 1
            self._steady.append((alert, 0))
            self._am.update(alert)

    def _fail_pods(self, n: int) -> None:
        healthy = [i for i in range(len(self._pods)) if i not in self._failing][:n]
        for i in healthy:
            alert = pod_alert(*self._pods[i])
            self._failing[i] = alert
            self.pod_alerts += 1
            self._am.update(alert)

    def _recover_pods(self) -> None:
        for alert in self._failing.values():
            self._am.update(replace(alert, ends_at=now_rfc3339()))
        self._failing.clear()

    def _node_high_load(self, pressure: float, t: float) -> None:
        if self._high_load is None and self._over >= self._p.high_load_for_scrapes:
            self._high_load = high_load_alert(pressure)
            self.pressure_alerts += 1
            if self.first_pressure_alert_s is None:
                self.first_pressure_alert_s = t
            self._am.update(self._high_load)
        elif self._high_load is not None and pressure <= 1.0:
            self._am.update(replace(self._high_load, ends_at=now_rfc3339()))
            self._high_load = None

    def back_to_calm_s(self) -> float | None:
        """Seconds from the first pressure alert to the first scrape at or below 1.0 after it."""
        first = self.first_pressure_alert_s
        if first is None:
            return None
        after = (s.t for s in self.samples if s.t > first and s.pressure <= 1.0)
        calm = next(after, None)
        return None if calm is None else calm - first
