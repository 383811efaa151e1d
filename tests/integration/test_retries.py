"""Transient failures are retried with backoff; permanent ones are dead-lettered with a reason."""

import subprocess
import sys

import orjson

from common import keys
from tests.support import payloads
from tests.support.stack import Stack


def test_transient_errors_are_retried_until_stored(make_stack: type[Stack]) -> None:
    stack = make_stack().full()
    stack.embedder.configure(fail_next=2, error_status=503)  # Ollama's "server busy"
    stack.post("/v1/alerts/alertmanager", payloads.notification(payloads.alert()))
    stack.wait_stored("alert", 1, timeout_s=60)
    stats = stack.embedder.stats()
    assert stats["errors"] == 2 and stats["calls"] == 1
    assert stack.stats()["dead_letters"] == 0


def test_permanent_errors_are_dead_lettered_with_the_reason(make_stack: type[Stack]) -> None:
    stack = make_stack().full()
    stack.embedder.configure(fail_next=1, error_status=400)
    stack.post("/v1/alerts/alertmanager", payloads.notification(payloads.alert()))

    def dead() -> list[dict[str, object]]:
        return [orjson.loads(raw) for raw in stack.redis.lrange(keys.DEAD_LETTERS, 0, -1)]

    from tests.support.stack import wait_until

    [entry] = wait_until(dead, timeout_s=30, what="a dead letter")
    assert entry["task"] == "cortex.embed_alerts" and entry["queue"] == "alerts"
    assert "400" in str(entry["reason"])
    assert entry["args"][0][0]["alertname"] == "KubePodCrashLooping"  # type: ignore[index]
    assert stack.embedder.stats()["errors"] == 1  # no retry of a permanent failure
    assert stack.stats()["dead_letters"] == 1 and stack.stats()["stored"]["alert"] == 0

    shown = subprocess.run(
        [sys.executable, "-m", "common.cli", "dead-letters"], env=stack.env,
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert "cortex.embed_alerts (1 items, 0 retries)" in shown.stdout
    assert "1 dead letters" in shown.stdout
