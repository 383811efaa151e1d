"""Chat intake on real parts: admission control (429) and edits replacing their chunks."""

import time
from typing import Any

from common import keys
from common.items import chat_key
from common.protect import drain
from tests.support import payloads
from tests.support.stack import Stack, wait_until


def _batch(conversation: str, n: int) -> dict[str, Any]:
    return payloads.chat_batch(conversation, n=n)


def _post_until_refused(stack: Stack, prefix: str, *, limit: int = 40) -> Any:
    for i in range(limit):
        answer = stack.post("/v1/chats", _batch(f"{prefix}-{i}", 10))
        if answer.status_code == 429:
            answer.conversation = f"{prefix}-{i}"
            return answer
        assert answer.status_code == 202, answer.text
    raise AssertionError(f"no 429 after {limit} posts: {stack.stats()}")


def test_chat_backlog_cap_answers_429_while_alerts_are_accepted(make_stack: type[Stack]) -> None:
    stack = make_stack(
        CORTEX_CHAT_BACKLOG_CAP="40",
        CORTEX_EMBED_BATCH_SIZE="8",
        CORTEX_CHAT_RETRY_AFTER_MAX_S="77",
    )
    stack.worker("store")
    stack.worker("alerts")
    stack.gateway()  # no chats worker yet: the chat backlog only grows

    refused = _post_until_refused(stack, "idle")
    # Nothing has drained in the last minute: there is no rate to promise, so the maximum.
    assert refused.headers["Retry-After"] == "77"
    body = refused.json()
    assert body["error"] == "chat backlog over its cap"
    assert body["detail"]["backlog_items"] >= 40 and body["detail"]["cap_items"] == 40
    # The refused batch wrote nothing: none of its messages is marked seen.
    conversation = refused.conversation
    seen = [
        keys.seen(chat_key("librechat", conversation, f"{conversation}-m{i}")) for i in range(10)
    ]
    assert stack.redis.exists(*seen) == 0
    # Alerts are never refused.
    alert = stack.post("/v1/alerts/alertmanager", payloads.notification(payloads.alert()))
    assert alert.status_code == 202 and alert.json()["accepted"] == 1

    # Once chats drain, the 429's Retry-After comes from the measured drain rate.
    stack.embedder.configure(per_input_delay_s=0.05)
    stack.worker("chats")
    wait_until(
        lambda: stack.post("/v1/chats", _batch("after-drain", 2)).status_code == 202,
        timeout_s=60, what="chats accepted again once the backlog drained",
    )  # fmt: skip
    wait_until(lambda: _drained(stack) > 0, timeout_s=30, what="a completed drain-rate bucket")
    again = _post_until_refused(stack, "busy", limit=80)
    assert 1 <= int(again.headers["Retry-After"]) < 77, again.headers
    assert again.json()["detail"]["drain_per_s"] > 0


def _drained(stack: Stack) -> int:
    values = stack.redis.mget(drain.bucket_keys("chat", time.time()))
    return sum(int(v) for v in values if v)


def test_an_edited_message_replaces_its_chunks(make_stack: type[Stack]) -> None:
    stack = make_stack(CORTEX_CHUNK_MAX_CHARS="300", CORTEX_CHUNK_OVERLAP_CHARS="0").full()
    words = " ".join(
        f"sentence {i} about kafka consumer lag and partition rebalancing." for i in range(20)
    )
    batch = payloads.chat_batch("edit-conv", n=1)
    batch["conversations"][0]["messages"][0]["text"] = words
    first = stack.post("/v1/chats", batch)
    assert first.status_code == 202 and first.json()["chunks"] >= 4, first.text
    chunks = first.json()["chunks"]
    wait_until(lambda: stack.stats()["stored"]["chat"] == chunks, timeout_s=60, what="chunks")

    batch["conversations"][0]["messages"][0]["text"] = "ceph osd nearfull on node03, rebalanced"
    edited = stack.post("/v1/chats", batch)
    assert edited.json()["accepted"] == 1 and edited.json()["chunks"] == 1
    wait_until(
        lambda: stack.stats()["stored"]["chat"] == 1, timeout_s=60, what="old chunks deleted"
    )
    hits = stack.search("kafka consumer lag partition rebalancing", kind="chat")
    assert [h["payload"]["text"] for h in hits] == ["ceph osd nearfull on node03, rebalanced"]
    assert hits[0]["payload"]["message_id"] == "edit-conv-m0"
    assert (hits[0]["payload"]["chunk"], hits[0]["payload"]["chunks"]) == (0, 1)

    # Re-sending the edited version costs nothing.
    again = stack.post("/v1/chats", batch)
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 1)
