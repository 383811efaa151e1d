"""End to end on real parts: gateway -> Redis -> Celery workers -> dev embedder -> Qdrant."""

import requests

from tests.support import payloads
from tests.support.stack import Stack, wait_until


def test_alert_becomes_searchable_and_resends_cost_nothing(make_stack: type[Stack]) -> None:
    stack = make_stack().full()
    body = payloads.notification(payloads.alert())

    first = stack.post("/v1/alerts/alertmanager", body)
    assert first.status_code == 202, first.text
    assert first.json()["accepted"] == 1
    stack.wait_stored("alert", 1)
    calls_after_first = stack.embedder.stats()["calls"]
    assert calls_after_first == 1

    for _ in range(50):
        again = stack.post("/v1/alerts/alertmanager", body)
        assert again.json() == {**again.json(), "accepted": 0, "duplicates": 1}

    hits = stack.search("mailu front crash looping", kind="alert")
    assert hits and hits[0]["payload"]["alertname"] == "KubePodCrashLooping"
    assert hits[0]["payload"]["status"] == "firing"
    assert stack.stats()["stored"]["alert"] == 1
    # Only the interactive search embedded anything after the first notification.
    assert stack.embedder.stats()["calls"] == calls_after_first + 1
    # The client's CPU cap: every call, the worker's and the search's, asked for 4 threads.
    assert stack.embedder.stats()["num_threads"] == {"4": calls_after_first + 1}
    metrics = requests.get(stack.gateway_url + "/metrics", timeout=10).text
    assert 'cortex_gateway_items_total{kind="alert",outcome="duplicate"} 50.0' in metrics
    assert 'cortex_gateway_items_total{kind="alert",outcome="accepted"} 1.0' in metrics


def test_resolution_updates_the_same_record(make_stack: type[Stack]) -> None:
    stack = make_stack().full()
    stack.post("/v1/alerts/alertmanager", payloads.notification(payloads.alert()))
    stack.wait_stored("alert", 1)
    resolved = payloads.alert(status="resolved", ends_at="2026-04-15T10:02:00Z")

    answer = stack.post("/v1/alerts/alertmanager", payloads.notification(resolved))
    assert answer.json()["updated"] == 1

    def resolved_hit() -> bool:
        hits = stack.search("mailu crash looping", kind="alert")
        return bool(hits) and hits[0]["payload"]["status"] == "resolved"

    wait_until(resolved_hit, timeout_s=30, what="resolved status")
    hits = stack.search("mailu crash looping", kind="alert")
    assert hits[0]["payload"]["endsAt"] == "2026-04-15T10:02:00Z"
    assert len(hits) == 1
    assert stack.stats()["stored"]["alert"] == 1
    embedded = [t for t in stack.embedder.stats()["texts"] if t.startswith("search_document")]
    assert len(embedded) == 1


def test_chats_are_embedded_in_batches_and_searchable(make_stack: type[Stack]) -> None:
    stack = make_stack().full()
    stack.learned()
    answer = stack.post("/v1/chats", payloads.chat_batch("conv-7", n=5))
    assert answer.status_code == 202, answer.text
    assert answer.json()["accepted"] == 5
    stack.wait_stored("chat", 5)
    assert stack.embedder.stats()["calls"] == 1
    hits = stack.search("qdrant snapshots conv-7", kind="chat")
    assert hits[0]["payload"]["conversation_id"] == "conv-7"
    assert stack.post("/v1/chats", payloads.chat_batch("conv-7", n=5)).json()["duplicates"] == 5
