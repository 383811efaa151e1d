"""Workers gather queued messages into one batch, and a killed worker's claim comes back."""

import signal

import psutil

from common import keys
from tests.support import payloads
from tests.support.stack import Stack, wait_until


def _alert(pod: str, severity: str) -> dict[str, object]:
    alert = payloads.alert(pod=pod, severity=severity, fingerprint=f"fp-{pod}")
    return payloads.notification(alert)


def test_messages_of_every_priority_become_one_embedding_call(make_stack: type[Stack]) -> None:
    stack = make_stack()
    stack.learned()
    stack.worker("store")
    stack.gateway()
    # No alerts worker yet: three buckets, which intake can never coalesce, one message each.
    for pod, severity in (("a", "critical"), ("b", "warning"), ("c", "info")):
        assert stack.post("/v1/alerts/alertmanager", _alert(pod, severity)).status_code == 202
    assert [stack.redis.llen(q) for q in ("alerts", "alerts:3", "alerts:6")] == [1, 1, 1]

    stack.worker("alerts")
    stack.wait_stored("alert", 3)
    assert stack.embedder.stats()["calls"] == 1
    assert stack.embedder.stats()["inputs"] == 3
    assert stack.redis.zcard(keys.CLAIMS) == 0  # acknowledged


def test_claim_of_a_killed_worker_is_given_back_and_stored_once(make_stack: type[Stack]) -> None:
    short = {"CORTEX_ALERTS_SOFT_TIME_LIMIT_S": "4", "CORTEX_ALERTS_TIME_LIMIT_S": "5"}
    stack = make_stack(**short)
    stack.learned()
    stack.embedder.configure(delay_s=30)
    stack.worker("store")
    stack.gateway()
    stack.controller()
    for pod, severity in (("a", "critical"), ("b", "info")):
        stack.post("/v1/alerts/alertmanager", _alert(pod, severity))
    worker = stack.worker("alerts")
    wait_until(lambda: stack.embedder.stats()["in_flight"] > 0, timeout_s=20, what="a call")
    assert stack.redis.zcard(keys.CLAIMS) == 1  # the info message rides along, claimed

    assert worker.proc is not None
    for child in psutil.Process(worker.proc.pid).children():
        child.send_signal(signal.SIGKILL)
    stack.embedder.configure(delay_s=0)
    # The killed task's own message is re-run by Celery; the claim comes back via the
    # controller once no live lease holds the task that made it.
    try:
        stack.wait_stored("alert", 2, timeout_s=60)
    except AssertionError:
        raise AssertionError(f"{stack.stats()}\n{stack.logs()}") from None
    wait_until(lambda: stack.redis.zcard(keys.CLAIMS) == 0, timeout_s=30, what="no claims")
    stats = stack.stats()
    assert stats["stored"]["alert"] == 2 and stats["dead_letters"] == 0
    assert len(stack.search("crash looping", kind="alert", limit=10)) == 2
