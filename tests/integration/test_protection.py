"""The guard on real parts: several worker processes, a slow or failing embedder, recovery."""

import signal
import time
from concurrent.futures import ThreadPoolExecutor

from tests.support import payloads
from tests.support.stack import Stack, wait_until


def alerts(prefix: str, n: int) -> list[dict[str, object]]:
    return [
        payloads.alert(f"{prefix}{i}", fingerprint=f"{prefix}-{i}", pod=f"pod-{i}")
        for i in range(n)
    ]


def test_slots_never_exceed_the_cap_across_worker_processes(make_stack: type[Stack]) -> None:
    stack = make_stack(CORTEX_EMBED_BATCH_SIZE="1", CORTEX_SLOTS_CAP="2", CORTEX_SLOTS_RESERVED="1")
    stack.embedder.configure(delay_s=0.3)
    stack.worker("store")
    stack.worker("alerts", concurrency=3, name="alerts-a")
    stack.worker("alerts", concurrency=3, name="alerts-b")
    stack.worker("chats", concurrency=2)
    stack.controller()
    stack.gateway()
    stack.post("/v1/alerts/alertmanager", payloads.notification(*alerts("Cap", 16)))
    stack.post("/v1/chats", payloads.chat_batch("cap", n=4))
    stack.wait_stored("alert", 16, timeout_s=120)
    stack.wait_stored("chat", 4, timeout_s=120)
    # Six alert processes and two chat processes, never more than two calls at once.
    assert stack.embedder.stats()["peak_in_flight"] == 2
    assert stack.stats()["concurrency"]["in_use"] == 0


def test_a_killed_workers_slot_returns_within_its_lease(make_stack: type[Stack]) -> None:
    stack = make_stack(
        CORTEX_EMBED_TIMEOUT_BASE_S="2", CORTEX_EMBED_TIMEOUT_PER_INPUT_S="0.5",
        CORTEX_EMBED_CONNECT_TIMEOUT_S="1",
    )  # fmt: skip  # lease = 2 + 0.5 + 1 + 5 = 8.5 s
    stack.learned()  # a fast backend: the floor is the timeout (unlearned, it is the maximum)
    stack.embedder.configure(delay_s=30)
    stack.worker("store")
    worker = stack.worker("alerts")
    stack.gateway()
    stack.post("/v1/alerts/alertmanager", payloads.notification(payloads.alert()))
    wait_until(lambda: stack.embedder.stats()["in_flight"], timeout_s=20, what="a call")
    worker.signal(signal.SIGKILL)
    assert stack.stats()["concurrency"]["in_use"] == 1
    wait_until(
        lambda: stack.stats()["concurrency"]["in_use"] == 0, timeout_s=15, what="the lease to lapse"
    )


def test_breaker_opens_on_errors_parks_then_replays_everything_once(
    make_stack: type[Stack],
) -> None:
    stack = make_stack(
        CORTEX_EMBED_BATCH_SIZE="1", CORTEX_BREAKER_MIN_CALLS="3", CORTEX_BREAKER_OPEN_S="3",
    )  # fmt: skip
    stack.embedder.configure(fail_next=1000, error_status=503)
    stack.full()
    stack.post("/v1/alerts/alertmanager", payloads.notification(*alerts("Down", 8)))
    stack.post("/v1/chats", payloads.chat_batch("down", n=3))
    wait_until(lambda: stack.stats()["breaker"] == "open", timeout_s=30, what="the breaker")
    failed_calls = stack.embedder.stats()["errors"]
    assert failed_calls <= 3 + 2  # min_calls, plus calls already in flight when it opened
    wait_until(lambda: stack.stats()["parked"] >= 1, timeout_s=30, what="parked work")

    stack.embedder.configure(fail_next=0)  # the backend recovers
    stack.wait_stored("alert", 8, timeout_s=100)
    stack.wait_stored("chat", 3, timeout_s=100)
    stats = stack.stats()
    # Calls that failed before the breaker opened were retried; the retries met the open
    # breaker and were parked; the controller replayed them: every item stored exactly once.
    assert stats["breaker"] == "closed" and stats["parked"] == 0 and stats["dead_letters"] == 0
    assert stats["stored"] == {"alert": 8, "chat": 3}
    assert len(stack.search("crash looping", kind="alert", limit=50)) == 8
    transitions = stats["decisions"]
    assert transitions.get("breaker:closed->open", 0) >= 1
    assert transitions.get("breaker:half_open->closed", 0) >= 1


def test_a_slow_steady_backend_is_healthy_and_one_slowing_down_is_shed(
    make_stack: type[Stack],
) -> None:
    # Calls of about two seconds; the breaker judges the last ten seconds of calls.
    stack = make_stack(CORTEX_EMBED_CALL_TARGET_S="2", CORTEX_BREAKER_WINDOW_S="10",
                       CORTEX_BREAKER_MIN_CALLS="2", CORTEX_BREAKER_OPEN_S="60")  # fmt: skip
    stack.embedder.configure(per_input_delay_s=1.0)  # a second an input, no node pressure
    stack.worker("store")
    stack.worker("chats", concurrency=None)  # processes: the cap + 1, by default
    stack.controller()
    stack.gateway()
    stack.post("/v1/chats", payloads.chat_batch("steady", n=12))
    stack.wait_stored("chat", 12, timeout_s=90)
    decisions = stack.stats()["decisions"]
    assert not any(k.endswith((":slow", ":failed")) for k in decisions), decisions
    # The cap is what the CPU budget allows (8 cores / 4 threads a call), and chats fill it:
    # both slots, the reserved one borrowed for short calls while no alert waits.
    assert stack.stats()["concurrency"]["cap"] == 2
    assert stack.embedder.stats()["peak_in_flight"] == 2
    assert stack.embedder.stats()["calls"] < 12  # batches grew once the speed was learned

    stack.embedder.configure(per_input_delay_s=5.0)  # the same backend, five times slower
    stack.post("/v1/chats", payloads.chat_batch("slowing", n=8))
    wait_until(lambda: stack.stats()["breaker"] == "open", timeout_s=60, what="the breaker")
    stats = stack.stats()
    assert stats["concurrency"]["limit"] < 2  # the adaptive limit fell first
    assert stats["decisions"].get("embed_calls:chat:slow", 0) >= 2
    assert stats["dead_letters"] == 0


def test_search_stays_available_while_chats_are_shed(make_stack: type[Stack]) -> None:
    stack = make_stack().full()
    stack.post("/v1/alerts/alertmanager", payloads.notification(payloads.alert()))
    stack.wait_stored("alert", 1)
    stack.redis.hset("cortex:paused", "chats", "manual")  # as `cortex pause chats` records it
    with ThreadPoolExecutor(2) as pool:
        posted = pool.submit(stack.post, "/v1/chats", payloads.chat_batch("shed", n=2))
        hits = pool.submit(stack.search, "mailu crash looping", kind="alert")
        assert posted.result().status_code == 202 and hits.result()


def test_pressure_alert_on_the_embedding_node_pauses_chats_until_resolved(
    make_stack: type[Stack],
) -> None:
    stack = make_stack(CORTEX_EMBED_NODE="node02", CORTEX_PRESSURE_COOLDOWN_S="4").full()
    other = payloads.alert("NodeHighLoad", fingerprint="other", severity="warning")
    other["labels"]["node"] = "node01"
    stack.post("/v1/alerts/alertmanager", payloads.notification(other))
    stack.post("/v1/chats", payloads.chat_batch("before", n=2))
    stack.wait_stored("chat", 2)  # pressure on another node changes nothing

    load = payloads.alert("NodeHighLoad", fingerprint="load02", severity="warning")
    stack.post("/v1/alerts/alertmanager", payloads.notification(load))
    stack.post("/v1/chats", payloads.chat_batch("during", n=2))
    wait_until(lambda: stack.stats()["queues"]["chats"]["parked"] == 1, timeout_s=30,
               what="chats parked")  # fmt: skip
    assert stack.stats()["decisions"]["shed:chat:node_pressure"] >= 1
    stack.wait_stored("alert", 2)  # alerts keep flowing meanwhile

    resolved = {**load, "status": "resolved", "endsAt": "2026-04-15T10:30:00Z"}
    stack.post("/v1/alerts/alertmanager", payloads.notification(resolved))
    time.sleep(1.5)  # three controller ticks: still cooling down, chats stay parked
    assert stack.stats()["queues"]["chats"]["parked"] == 1
    stack.wait_stored("chat", 4, timeout_s=60)
    assert stack.stats()["parked"] == 0
