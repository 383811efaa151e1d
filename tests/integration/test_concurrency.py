"""Qdrant local mode has one owner: concurrent intake, search and stats lose no point."""

from concurrent.futures import ThreadPoolExecutor

from tests.support import payloads
from tests.support.stack import Stack
from workers.qdrant.opening import open_qdrant_store

WRITERS, NOTIFICATIONS, ALERTS_EACH = 4, 15, 3


def post_alerts(stack: Stack, writer: int) -> int:
    accepted = 0
    for n in range(NOTIFICATIONS):
        alerts = [
            payloads.alert(f"Load{writer}", fingerprint=f"w{writer}n{n}a{a}", pod=f"pod-{n}-{a}")
            for a in range(ALERTS_EACH)
        ]
        accepted += stack.post("/v1/alerts/alertmanager", payloads.notification(*alerts)).json()[
            "accepted"
        ]
    return accepted


def post_chats(stack: Stack, writer: int) -> int:
    return sum(
        stack.post("/v1/chats", payloads.chat_batch(f"w{writer}c{n}", n=4)).json()["accepted"]
        for n in range(10)
    )


def read_while_writing(stack: Stack) -> int:
    answered = 0
    for _ in range(30):
        stack.search("crash looping pod", limit=5)
        stack.stats()
        answered += 1
    return answered


def test_concurrent_intake_search_and_stats_lose_no_point(make_stack: type[Stack]) -> None:
    stack = make_stack(CORTEX_EMBED_BATCH_SIZE="2")
    stack.worker("store")
    stack.worker("alerts", concurrency=2)
    stack.worker("chats", concurrency=2)
    stack.controller()  # 45 alerts per alertname make a storm: its digests need the controller
    stack.gateway()
    with ThreadPoolExecutor(max_workers=8) as pool:
        alerts = [pool.submit(post_alerts, stack, w) for w in range(WRITERS)]
        chats = [pool.submit(post_chats, stack, w) for w in range(2)]
        readers = [pool.submit(read_while_writing, stack) for _ in range(2)]
        accepted_alerts = sum(f.result() for f in alerts)
        accepted_chats = sum(f.result() for f in chats)
        assert sum(f.result() for f in readers) == 60
    assert accepted_alerts == WRITERS * NOTIFICATIONS * ALERTS_EACH
    assert accepted_chats == 2 * 10 * 4

    stack.wait_stored("alert", accepted_alerts, timeout_s=120)
    stack.wait_stored("chat", accepted_chats, timeout_s=120)
    assert stack.stats()["dead_letters"] == 0
    stack.close()  # release the store worker's lock on the folder, then count what is there
    store = open_qdrant_store(
        url=None, path=str(stack.tmp / "qdrant"), collection="cortex", timeout_s=5
    )
    try:
        assert store.count("alert") == accepted_alerts
        assert store.count("chat") == accepted_chats
    finally:
        store.close()
