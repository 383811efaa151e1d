"""Separate queues and priority buckets: alerts before chats, critical before warning."""

from tests.support import payloads
from tests.support.stack import Stack


def test_items_land_on_their_own_queues_and_buckets(make_stack: type[Stack]) -> None:
    stack = make_stack()
    stack.gateway()  # no workers: everything stays queued where the gateway put it
    alerts = [
        payloads.alert("Crit", severity="critical", fingerprint="c0"),
        payloads.alert("Warn", severity="warning", fingerprint="w0"),
        payloads.alert("Info", severity="info", fingerprint="i0"),
    ]
    stack.post("/v1/alerts/alertmanager", payloads.notification(*alerts))
    stack.post("/v1/chats", payloads.chat_batch("c1", n=2))
    buckets = {
        **stack.stats()["queues"]["alerts"]["buckets"],
        **stack.stats()["queues"]["chats"]["buckets"],
    }
    assert buckets == {
        "alerts": 1, "alerts:3": 1, "alerts:6": 1, "alerts:9": 0,
        "chats": 0, "chats:3": 0, "chats:6": 0, "chats:9": 1,
    }  # fmt: skip


def test_a_worker_serving_both_queues_takes_alerts_first(make_stack: type[Stack]) -> None:
    # One item per message, so the order of embedding calls is the order of consumption.
    stack = make_stack(CORTEX_EMBED_BATCH_SIZE="1")
    stack.gateway()
    for i in range(3):
        stack.post("/v1/chats", payloads.chat_batch(f"chat{i}", n=2))
    stack.post("/v1/alerts/alertmanager", payloads.notification(
        payloads.alert("InfoAlert", severity="info", fingerprint="i1"),
        payloads.alert("WarnAlert", severity="warning", fingerprint="w1"),
    ))  # fmt: skip
    stack.post("/v1/alerts/alertmanager", payloads.notification(
        payloads.alert("CritAlert", severity="critical", fingerprint="c1")
    ))  # fmt: skip
    assert stack.stats()["queues"]["chats"]["depth"] == 6

    stack.worker("store")
    stack.worker("alerts,chats", concurrency=1, name="both")
    stack.wait_stored("chat", 6)
    order = [
        "chat" if text.split("\n")[0].startswith("search_document: Conversation") else
        text.split()[2]
        for text in stack.embedder.stats()["texts"]
    ]  # fmt: skip
    assert order == ["CritAlert", "WarnAlert", "InfoAlert"] + ["chat"] * 6
