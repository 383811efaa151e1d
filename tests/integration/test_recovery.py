"""Held work comes back promptly: a Redis outage or a killed worker strands nothing for an hour.

Both run with the default visibility timeout (an hour): what brings the messages back is the
controller's sweep of kombu's unacked entries against the workers' leases, not kombu's clock.
"""

import re
import signal
import threading
import time
from collections import Counter

import requests

from tests.support import payloads
from tests.support.stack import Stack, wait_until

# Every alert is its own alertname: this is about delivery, not storm digests.
NO_STORMS = {"CORTEX_STORM_THRESHOLD": "100000"}


def _alert(i: int) -> dict[str, object]:
    alert = payloads.alert(f"Outage{i:03d}", fingerprint=f"fp-{i:03d}", pod=f"pod-{i:03d}")
    return payloads.notification(alert)


class Trickle:
    """Alertmanager in miniature: one new alert every `interval_s`; remembers what got a 202."""

    def __init__(self, stack: Stack, *, interval_s: float) -> None:
        self.stack, self.interval_s = stack, interval_s
        self.accepted: list[int] = []
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            try:
                answer = self.stack.post("/v1/alerts/alertmanager", _alert(i))
                ok = answer.status_code == 202
            except requests.RequestException:
                ok = False
            if ok:
                self.accepted.append(i)
            else:
                self.refused += 1  # Alertmanager would retry this one; a new one is enough
            i += 1
            self._stop.wait(self.interval_s)

    def __enter__(self) -> "Trickle":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


_ALERT_IN_TEXT = re.compile(r"search_document: Alert (\w+)")


def _embedded_per_alert(stack: Stack) -> Counter[str]:
    # An alert is embedded as "Alert <alertname>, severity ..." (common/text.py).
    texts = stack.embedder.stats()["texts"]
    return Counter(m.group(1) for t in texts if (m := _ALERT_IN_TEXT.match(t)))


def test_redis_down_while_tasks_are_prefetched_and_running_strands_nothing(
    make_stack: type[Stack],
) -> None:
    stack = make_stack(**NO_STORMS).full()
    stack.learned()
    stack.embedder.configure(delay_s=1.0)  # calls in flight and messages held when Redis goes
    with Trickle(stack, interval_s=0.2) as trickle:
        wait_until(lambda: len(trickle.accepted) >= 15, timeout_s=30, what="alerts flowing")
        wait_until(lambda: stack.stats()["in_flight"] >= 2, timeout_s=20, what="held messages")
        stack.redis_server.stop()
        time.sleep(5)
        stack.redis_server.start()
        back_at = time.monotonic()
        wait_until(lambda: len(trickle.accepted) >= 40, timeout_s=30, what="alerts after")
    assert trickle.refused > 0  # the outage was seen: 503s while Redis was down

    accepted = len(trickle.accepted)
    try:
        stack.wait_stored("alert", accepted, timeout_s=max(1.0, 60 - (time.monotonic() - back_at)))
    except AssertionError:
        raise AssertionError(f"{stack.stats()}\n{stack.logs()}") from None
    assert stack.stats()["stored"]["alert"] == accepted
    embedded = _embedded_per_alert(stack)
    assert set(embedded) >= {f"Outage{i:03d}" for i in trickle.accepted}
    assert max(embedded.values()) == 1, embedded.most_common(3)  # none embedded twice


def test_a_killed_workers_held_messages_run_again_within_a_minute(
    make_stack: type[Stack],
) -> None:
    stack = make_stack(**NO_STORMS)
    stack.learned()
    stack.embedder.configure(delay_s=4)
    stack.worker("store")
    stack.controller()
    stack.gateway()
    worker = stack.worker("alerts", concurrency=2)
    for i in range(3):
        assert stack.post("/v1/alerts/alertmanager", _alert(i)).status_code == 202
    wait_until(lambda: stack.stats()["in_flight"] >= 2, timeout_s=20, what="held messages")
    worker.signal(signal.SIGKILL)  # main process and pool: nobody acks, nobody requeues
    killed_at = time.monotonic()
    stack.embedder.configure(delay_s=0)
    stack.worker("alerts", name="alerts-2")

    try:
        stack.wait_stored("alert", 3, timeout_s=75)
    except AssertionError:
        raise AssertionError(f"{stack.stats()}\n{stack.logs()}") from None
    assert time.monotonic() - killed_at < 75
    stats = stack.stats()
    assert stats["stored"]["alert"] == 3 and stats["dead_letters"] == 0
    assert stats["decisions"].get("recovered:unacked", 0) >= 1
    assert len(stack.search("crash looping", kind="alert", limit=10)) == 3
