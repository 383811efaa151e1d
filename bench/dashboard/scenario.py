"""A short incident, driven against the real stack: calm, the embedding node slows, recovery.

Each second one new alert occurrence arrives (and every fifth second a re-send), every other
second a chat batch, every four seconds a search. Then the embedder becomes ten times slower,
a NodeHighLoad alert for it fires, a crash-looping storm arrives in one notification, a
misconfigured sender posts with a wrong token for a while, and many alert groups flush at
once; later the node recovers and the pressure alert resolves.
"""

import contextlib
import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from bench.dashboard.stack import TOKEN, Stack

CALM_PER_INPUT_S = 0.06
SLOW_PER_INPUT_S = 0.6
ALERTNAMES = ("KubePodNotReady", "KubeDeploymentReplicasMismatch", "TargetDown", "KubeHpaMaxedOut")


@dataclass(frozen=True)
class Phase:
    """A stretch of the run, shaded on the picture."""

    start_s: float
    end_s: float
    label: str


@dataclass(frozen=True)
class Timeline:
    """When each event of the incident happens, in seconds from the start."""

    duration_s: float = 200
    slow_at_s: float = 45
    pressure_at_s: float = 50
    storm_at_s: float = 55
    wrong_token_s: tuple[float, float] = (65, 80)
    # Alertmanager flushing many groups at once: five notifications a second.
    burst_s: tuple[float, float] = (70, 76)
    recover_at_s: float = 105
    pressure_resolved_at_s: float = 110

    def phases(self) -> list[Phase]:
        """What the picture marks."""
        return [
            Phase(self.slow_at_s, self.recover_at_s, "embedder 10x slower"),
            Phase(*self.wrong_token_s, "wrong token"),
        ]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def alert(
    name: str, pod: str, *, status: str = "firing", severity: str = "warning"
) -> dict[str, Any]:
    """One Alertmanager alert about a pod (or, for NodeHighLoad, the embedding node)."""
    labels = {"alertname": name, "severity": severity, "namespace": "apps", "pod": pod,
              "node": "node02"}  # fmt: skip
    return {
        "status": status, "labels": labels, "startsAt": _now(),
        "endsAt": _now() if status == "resolved" else "0001-01-01T00:00:00Z",
        "annotations": {"summary": f"{name} on {pod}"},
        "fingerprint": hashlib.sha256(f"{name}/{pod}".encode()).hexdigest()[:16],
    }  # fmt: skip


def notification(*alerts: dict[str, Any]) -> dict[str, Any]:
    """A version-4 webhook body."""
    name = alerts[0]["labels"]["alertname"]
    return {
        "version": "4", "groupKey": f'{{}}:{{alertname="{name}"}}', "truncatedAlerts": 0,
        "status": alerts[0]["status"], "receiver": "cluster-cortex",
        "groupLabels": {"alertname": name}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093", "alerts": list(alerts),
    }  # fmt: skip


def chat_batch(n: int, size: int = 6) -> dict[str, Any]:
    """A LibreChat batch of one new conversation."""
    messages = [
        {"id": f"c{n}-m{i}", "role": "user" if i % 2 == 0 else "assistant",
         "text": f"note {i} of {n}: the embedding node was slow again after the reindex job",
         "created_at": "2026-04-15T10:00:00Z"}
        for i in range(size)
    ]  # fmt: skip
    conversation = {"id": f"conv-{n}", "title": f"Ops {n}", "messages": messages}
    return {"source": "librechat", "conversations": [conversation]}


class Driver:
    """Posts the traffic second by second and fires the timeline's events."""

    def __init__(self, stack: Stack, timeline: Timeline) -> None:
        self._stack = stack
        self._timeline = timeline
        self._http = requests.Session()
        self._last: dict[str, Any] = {}
        self._searches: list[threading.Thread] = []

    def run(self) -> tuple[float, float]:
        """Run the whole timeline; the wall-clock start and end."""
        started = time.time()
        tick = 0
        while tick < self._timeline.duration_s:
            self._second(tick)
            tick += 1
            time.sleep(max(0.0, started + tick - time.time()))
        for thread in self._searches:
            thread.join(timeout=20)
        return started, time.time()

    def _second(self, t: int) -> None:
        self._events(t)
        self._last = notification(alert(ALERTNAMES[t % len(ALERTNAMES)], f"web-{t}"))
        self._post_alert(self._last)
        if t % 5 == 0:
            self._post_alert(self._last)  # a re-send: a duplicate, costs nothing
        if t % 2 == 0:
            self._post("/v1/chats", chat_batch(t))
        if t % 4 == 0:
            thread = threading.Thread(target=self._search, daemon=True)
            thread.start()
            self._searches.append(thread)

    def _events(self, t: int) -> None:
        line = self._timeline
        if t == 0:
            self._stack.configure_embedder(per_input_delay_s=CALM_PER_INPUT_S)
        if t == line.slow_at_s:
            self._stack.configure_embedder(per_input_delay_s=SLOW_PER_INPUT_S)
        if t == line.recover_at_s:
            self._stack.configure_embedder(per_input_delay_s=CALM_PER_INPUT_S)
        if t in (line.pressure_at_s, line.pressure_resolved_at_s):
            status = "firing" if t == line.pressure_at_s else "resolved"
            self._post_alert(notification(alert("NodeHighLoad", "node02", status=status,
                                                severity="critical")))  # fmt: skip
        if t == line.storm_at_s:
            pods = [alert("KubePodCrashLooping", f"mailu-{i}") for i in range(30)]
            self._post_alert(notification(*pods))
        if line.wrong_token_s[0] <= t < line.wrong_token_s[1]:
            self._post("/v1/alerts/alertmanager", self._last, token="wrong")
        if line.burst_s[0] <= t < line.burst_s[1]:
            for i in range(4):
                self._post_alert(notification(alert(ALERTNAMES[i], f"api-{t}-{i}")))

    def _post_alert(self, body: dict[str, Any]) -> None:
        self._post("/v1/alerts/alertmanager", body)

    def _post(self, path: str, body: dict[str, Any], *, token: str = TOKEN) -> None:
        # Answers are the picture's business: a 429 or 503 is recorded by the gateway itself.
        headers = {"Authorization": f"Bearer {token}"}
        with contextlib.suppress(requests.RequestException):
            self._http.post(self._stack.gateway_url + path, json=body, headers=headers, timeout=10)

    def _search(self) -> None:
        params: dict[str, str | int] = {"q": "embedding node slow", "limit": 5}
        with contextlib.suppress(requests.RequestException):
            requests.get(self._stack.gateway_url + "/v1/search", params=params, timeout=30)
