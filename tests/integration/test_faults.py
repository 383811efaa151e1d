"""Fault tests: killed workers and a restarted Redis lose nothing and store nothing twice."""

import signal
import time

import psutil
import requests

from tests.support import payloads
from tests.support.stack import Stack, wait_until


def in_flight(stack: Stack) -> bool:
    return stack.embedder.stats()["in_flight"] > 0


def test_pool_child_killed_mid_task_is_redelivered_and_stored_once(make_stack: type[Stack]) -> None:
    stack = make_stack()
    stack.embedder.configure(delay_s=3)
    stack.worker("store")
    worker = stack.worker("alerts")
    stack.gateway()
    stack.post("/v1/alerts/alertmanager", payloads.notification(payloads.alert()))
    wait_until(lambda: in_flight(stack), timeout_s=20, what="the embedding call to start")

    assert worker.proc is not None
    [child] = psutil.Process(worker.proc.pid).children()
    child.send_signal(signal.SIGKILL)  # what the OOM killer or a hard time limit does
    stack.embedder.configure(delay_s=0)

    stack.wait_stored("alert", 1, timeout_s=60)
    stats = stack.stats()
    assert stats["stored"]["alert"] == 1 and stats["dead_letters"] == 0
    assert stack.embedder.stats()["calls"] >= 1
    assert len(stack.search("mailu crash looping", kind="alert", limit=10)) == 1


def test_redis_restart_gives_503_then_recovers_without_loss(make_stack: type[Stack]) -> None:
    stack = make_stack().full()
    before = payloads.alert("BeforeOutage", fingerprint="b0")
    stack.post("/v1/alerts/alertmanager", payloads.notification(before))
    stack.wait_stored("alert", 1)

    stack.embedder.configure(delay_s=1.5)  # this one is queued or in flight when Redis goes
    queued = payloads.alert("QueuedAtOutage", fingerprint="q0")
    assert stack.post("/v1/alerts/alertmanager", payloads.notification(queued)).status_code == 202
    stack.redis_server.stop()
    during = stack.post("/v1/alerts/alertmanager", payloads.notification(payloads.alert("X")))
    assert during.status_code == 503 and int(during.headers["Retry-After"]) > 0
    assert during.json()["error"]
    assert requests.get(stack.gateway_url + "/readyz", timeout=10).status_code == 503
    assert requests.get(stack.gateway_url + "/healthz", timeout=10).status_code == 200

    time.sleep(2)
    stack.redis_server.start()
    stack.embedder.configure(delay_s=0)
    after = payloads.alert("AfterOutage", fingerprint="a0")
    answer = wait_until(
        lambda: (r := stack.post("/v1/alerts/alertmanager", payloads.notification(after)))
        .status_code == 202 and r,
        timeout_s=30, what="the gateway to accept again",
    )  # fmt: skip
    assert answer.json()["accepted"] == 1

    stack.wait_stored("alert", 3, timeout_s=120)
    stored = {
        h["payload"]["alertname"] for h in stack.search("crash looping", kind="alert", limit=20)
    }
    assert stored == {"BeforeOutage", "QueuedAtOutage", "AfterOutage"}
    assert stack.stats()["stored"]["alert"] == 3


def test_a_full_redis_gives_503_writes_nothing_and_the_resend_is_accepted(
    make_stack: type[Stack],
) -> None:
    stack = make_stack()
    stack.gateway()
    alert = payloads.alert("AtMaxmemory", fingerprint="m0")
    # noeviction (the deployment's policy) at a limit below what Redis already holds.
    stack.redis.config_set("maxmemory", "1")
    try:
        full = stack.post("/v1/alerts/alertmanager", payloads.notification(alert))
        assert full.status_code == 503, full.text
        assert int(full.headers["Retry-After"]) > 0 and full.json()["error"]
        assert stack.redis.keys("cortex:seen:*") == []  # not marked seen: the resend is new
        assert stack.stats()["queues"]["alerts"]["depth"] == 0
    finally:
        stack.redis.config_set("maxmemory", "0")
    again = stack.post("/v1/alerts/alertmanager", payloads.notification(alert))
    assert again.status_code == 202 and again.json()["accepted"] == 1
