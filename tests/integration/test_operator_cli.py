"""The operator's commands on a live stack: drain, replay, pause and resume lose nothing."""

import subprocess
import sys
import time

from tests.support import payloads
from tests.support.stack import Stack, wait_until


def cortex(stack: Stack, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "common.cli", *args], env=stack.env,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


def test_drain_parks_the_backlog_and_replay_brings_it_back(make_stack: type[Stack]) -> None:
    stack = make_stack(CORTEX_EMBED_BATCH_SIZE="1")
    stack.gateway()
    alerts = [payloads.alert(f"Drain{i}", fingerprint=f"d{i}") for i in range(3)]
    stack.post("/v1/alerts/alertmanager", payloads.notification(*alerts))
    assert "moved 3 messages from alerts" in cortex(stack, "drain", "alerts")
    assert stack.stats()["queues"]["alerts"] == {
        **stack.stats()["queues"]["alerts"],
        "depth": 0,
        "parked": 3,
    }
    stack.worker("store")
    stack.worker("alerts")
    time.sleep(1)
    assert stack.stats()["stored"]["alert"] == 0  # parked work waits for a replay
    assert "replayed 3 messages from parked" in cortex(stack, "replay", "--rate", "50")
    stack.wait_stored("alert", 3)


def test_pause_stops_consumption_and_resume_restarts_it(make_stack: type[Stack]) -> None:
    stack = make_stack()
    stack.worker("store")
    stack.worker("chats")
    stack.gateway()
    assert "chats paused; 2 workers answered" in cortex(stack, "pause", "chats")
    stack.post("/v1/chats", payloads.chat_batch("paused", n=2))
    time.sleep(2)
    assert stack.stats()["queues"]["chats"]["depth"] == 1 and stack.stats()["stored"]["chat"] == 0
    assert stack.stats()["queues"]["chats"]["paused"]
    assert "chats resumed; 2 workers answered" in cortex(stack, "resume", "chats")
    stack.wait_stored("chat", 2)


def test_dead_letters_are_replayed(make_stack: type[Stack]) -> None:
    stack = make_stack().full()
    stack.embedder.configure(fail_next=1, error_status=400)
    stack.post("/v1/alerts/alertmanager", payloads.notification(payloads.alert()))
    wait_until(lambda: stack.stats()["dead_letters"] == 1, timeout_s=30, what="a dead letter")
    assert "replayed 1 messages from dead" in cortex(stack, "replay", "--from", "dead")
    stack.wait_stored("alert", 1)
    assert stack.stats()["dead_letters"] == 0
