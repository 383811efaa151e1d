"""The soak's traffic: one new distinct alert per webhook, sent as Alertmanager sends it.

Every alert is findable exactly. Alerts come in groups of GROUP_SIZE that share six random
words in their summary and description; a search for those words ranks the whole group first
(with the development embedder's word-hash vectors the margin is wide, see README), and each
hit names its alert by the `soak_seq` label. The label is the only per-alert word in the text,
so the embedder can count each alert's embeddings by it.
"""

import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from bench.soak.params import Params

GROUP_SIZE = 20
SEQ_LABEL = "soak_seq"
# How an alert's sequence number appears in its embedded text (common/text.py: "Labels: k=v").
SEQ_IN_TEXT = re.compile(rf"\b{SEQ_LABEL}=(\d+)\b")
# Alertmanager retries a failed notification until the group's next flush (group_interval 5m).
GIVE_UP_S = 300.0
_REQUEST_TIMEOUT_S = 10.0
_LETTERS = "bcdfghjklmnpqrstvwxz"


class Catalog:
    """Deterministic alert bodies and the search words of each group."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        # Whole seconds: startsAt is part of the dedup key and must differ per alert.
        self._base = datetime.now(UTC).replace(microsecond=0)

    def words(self, group: int) -> str:
        """The six words every alert of a group carries; also the group's search query."""
        rng = random.Random(f"{self._seed}/{group}")
        return " ".join("".join(rng.choice(_LETTERS) for _ in range(8)) for _ in range(6))

    def alert(self, seq: int) -> dict[str, Any]:
        """Alert number `seq`, as Alertmanager sends it; severities cycle through 3 buckets."""
        words = self.words(seq // GROUP_SIZE)
        severity = ("critical", "warning", "info", "warning")[seq % 4]
        starts_at = self._base + timedelta(seconds=seq)
        return {
            "status": "firing",
            "labels": {
                "alertname": "SoakAlert", "severity": severity, "namespace": "soak",
                "pod": "soak-web-0", "node": "node02", SEQ_LABEL: str(seq),
            },
            "annotations": {
                "summary": f"Soak alert of batch {words} is firing",
                "description": f"Redis restart soak, batch {words}",
            },
            "startsAt": starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
            "fingerprint": f"50a4{seq:012x}",
        }  # fmt: skip

    def notification(self, seq: int) -> dict[str, Any]:
        """A version-4 webhook body carrying alert `seq` alone."""
        return {
            "version": "4", "groupKey": '{}:{alertname="SoakAlert"}', "truncatedAlerts": 0,
            "status": "firing", "receiver": "cluster-cortex",
            "groupLabels": {"alertname": "SoakAlert"}, "commonLabels": {"namespace": "soak"},
            "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
            "alerts": [self.alert(seq)],
        }  # fmt: skip


@dataclass
class Delivery:
    """One notification's fate (monotonic seconds); `answers` counts each try's outcome."""

    seq: int
    due_at: float
    accepted_at: float | None = None
    duplicate: bool = False
    dropped: str = ""
    answers: Counter[str] = field(default_factory=Counter)


class _Backoff:
    """Alertmanager's retry timing (cenkalti/backoff): 0.5 s, x1.5, +-50 % jitter, 60 s cap."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._interval_s = 0.5

    def next_s(self) -> float:
        """Seconds to wait before the next try."""
        wait_s = self._interval_s * self._rng.uniform(0.5, 1.5)
        self._interval_s = min(60.0, self._interval_s * 1.5)
        return wait_s


class Sender:
    """Posts alert `n` at start + n * interval, each delivery retried in its own thread."""

    def __init__(self, url: str, catalog: Catalog, params: Params) -> None:
        self._url, self._catalog, self._params = url, catalog, params
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._threads: list[threading.Thread] = []
        self._stop_sending = threading.Event()
        self._abort = threading.Event()
        self._scheduler = threading.Thread(target=self._schedule, name="soak-sender", daemon=True)

    def start(self) -> None:
        """Start sending; returns at once."""
        self._scheduler.start()

    def stop(self, *, drain_s: float = 30.0) -> None:
        """Send no more; wait up to `drain_s` for deliveries in retry, then abandon them."""
        self._stop_sending.set()
        if self._scheduler.is_alive():
            self._scheduler.join()
        deadline = time.monotonic() + drain_s
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        self._abort.set()

    def deliveries(self) -> list[Delivery]:
        """A consistent copy of every delivery so far, in sequence order."""
        with self._lock:
            return [
                Delivery(d.seq, d.due_at, d.accepted_at, d.duplicate, d.dropped, Counter(d.answers))
                for d in self._deliveries
            ]

    def _schedule(self) -> None:
        start = time.monotonic()
        seq = 0
        while not self._stop_sending.is_set():
            due = start + seq * self._params.interval_s
            if self._stop_sending.wait(max(0.0, due - time.monotonic())):
                return
            delivery = Delivery(seq=seq, due_at=due)
            with self._lock:
                self._deliveries.append(delivery)
            thread = threading.Thread(target=self._deliver, args=(delivery,), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()
            seq += 1

    def _deliver(self, delivery: Delivery) -> None:
        body = self._catalog.notification(delivery.seq)
        backoff = _Backoff(random.Random(self._params.seed * 1_000_003 + delivery.seq))
        with requests.Session() as session:
            while not self._abort.is_set():
                outcome, answer = self._try(session, body)
                with self._lock:
                    delivery.answers[outcome] += 1
                    if outcome.startswith("2"):
                        delivery.accepted_at = time.monotonic()
                        delivery.duplicate = bool(answer.get("duplicates"))
                        return
                    if outcome.startswith("4"):
                        delivery.dropped = outcome  # Alertmanager drops a 4xx: never retried
                        return
                if time.monotonic() - delivery.due_at > GIVE_UP_S:
                    delivery.dropped = "gave up"
                    return
                self._abort.wait(backoff.next_s())

    def _try(self, session: requests.Session, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """One POST: its status (or the exception's name) and the JSON answer, if any."""
        try:
            response = session.post(self._url, json=body, timeout=_REQUEST_TIMEOUT_S)
        except requests.RequestException as exc:
            return type(exc).__name__, {}
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        return str(response.status_code), answer if isinstance(answer, dict) else {}
