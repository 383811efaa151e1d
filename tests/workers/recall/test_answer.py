"""Recall in the store, on qdrant-client's local mode: issue 13's incident, section by section."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from common.alertmanager import Notification
from common.chats import ChatBatch
from common.embedding.wordhash import embed_text
from common.items import alert_item, chat_messages
from common.points import Point
from common.recall import ConversationAsk, HistoryAsk, RecallAsk
from common.text import alert_text, chat_text
from tests.support import incident
from workers.embedding import make_point
from workers.qdrant.memory import QdrantMemory
from workers.qdrant.opening import open_qdrant_store
from workers.recall.answer import answer

DIM = 256
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def alert_points(now: datetime) -> list[Point]:
    notification = Notification.model_validate(incident.notification(*incident.alerts(now)))
    items = [alert_item(a, notification) for a in notification.alerts]
    return [make_point(i.point_id, "alert", embed_text(alert_text(i), DIM), i.payload(),
                       avg_len=100) for i in items]  # fmt: skip


def chat_points(now: datetime, **chunking: int) -> list[Point]:
    batch = ChatBatch.model_validate(incident.chats(now))
    messages, _ = chat_messages(batch, **{"max_chars": 2000, "overlap_chars": 200, **chunking})
    return [make_point(c.point_id, "chat", embed_text(chat_text(c), DIM), c.payload(),
                       avg_len=100) for m in messages for c in m.chunks]  # fmt: skip


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[QdrantMemory]:
    store = open_qdrant_store(url=None, path=str(tmp_path / "q"), collection="c", timeout_s=5)
    store.ensure_collection(dim=DIM, model="word-hash")
    store.upsert([*alert_points(NOW), *chat_points(NOW)])
    yield QdrantMemory(store)
    store.close()


def ask(**fields: Any) -> RecallAsk:
    return RecallAsk(request_id="r", expires_at=0, **fields)


def recalled(memory: QdrantMemory, **fields: Any) -> dict[str, Any]:
    reply = answer(ask(**fields), memory)
    assert reply.answer is not None, reply
    return reply.answer


def test_the_newest_occurrence_recalls_the_whole_incident(memory: QdrantMemory) -> None:
    got = recalled(memory, fingerprint=incident.RECREATED_FP)
    assert got["alert"]["fingerprint"] == incident.RECREATED_FP
    assert got["alert"]["workload"] == "mailu-front"
    before = got["before"]
    # The re-created pod's fingerprint and the old pod's: one alert, three times.
    assert [o["fingerprint"] for o in before["occurrences"]] == [
        incident.RECREATED_FP, incident.FIRST_FP, incident.FIRST_FP]  # fmt: skip
    assert [o["duration_s"] for o in before["occurrences"]] == [1800, 1500, 2400]
    assert (before["last_7d"], before["last_30d"]) == (2, 3)
    assert before["typical_duration_s"] == 1800 and before["label"] == "rare"
    assert [o["alertname"] for o in got["around"]] == ["NodeMemoryPressure"]
    similar = {(g["alertname"], g["namespace"], g["workload"]): g for g in got["similar"]}
    assert (incident.CRASH, "webmail", "roundcube") in similar
    assert (incident.CRASH, "mail", "mailu-front") not in similar
    assert similar[incident.CRASH, "webmail", "roundcube"]["count"] == 1
    said = got["discussed"][0]
    assert said["conversation_id"] == incident.FIX_CONVERSATION
    assert said["title"] == "mailu-front crash loop"
    everything = " ".join([said["chunk"], *said["neighbours"]])
    assert "timeoutSeconds to 10" in everything
    assert got["truncated"] is False


def test_an_identity_recalls_its_newest_occurrence(memory: QdrantMemory) -> None:
    got = recalled(memory, alertname=incident.CRASH, namespace="mail", workload="mailu-front")
    assert got["alert"]["fingerprint"] == incident.RECREATED_FP
    other = recalled(memory, alertname=incident.CRASH, namespace="webmail")
    assert other["alert"]["workload"] == "roundcube"
    assert answer(ask(alertname=incident.CRASH, namespace="nowhere"), memory).not_found


def test_an_unknown_fingerprint_is_not_found(memory: QdrantMemory) -> None:
    reply = answer(ask(fingerprint="ffffffffffffffff"), memory)
    assert reply.answer is None and "ffffffffffffffff" in str(reply.not_found)


def test_a_posted_alert_not_stored_asks_for_its_vector_then_recalls(
    memory: QdrantMemory,
) -> None:
    fresh = incident.crash("f0f0f0f0f0f0f0f0", "mailu-front-5c8d7f9b6-zz9x8", NOW, None)
    notification = Notification.model_validate(incident.notification(fresh))
    item = alert_item(notification.alerts[0], notification)
    target = {"point_id": item.point_id, "payload": item.payload()}
    assert answer(ask(**target), memory).needs_vector
    got = recalled(memory, **target, vector=embed_text(alert_text(item), DIM))
    assert got["alert"]["fingerprint"] == "f0f0f0f0f0f0f0f0"
    # The same workload, so the same alert: three stored occurrences and this one.
    assert len(got["before"]["occurrences"]) == 4
    assert got["discussed"][0]["conversation_id"] == incident.FIX_CONVERSATION


def test_free_text_has_no_alert_and_ranks_the_rest(memory: QdrantMemory) -> None:
    text = "roundcube crash looping liveness probe"
    got = recalled(memory, text=text, vector=embed_text(text, DIM))
    assert got["alert"] is None and got["around"] == []
    assert got["before"]["occurrences"] == [] and got["before"]["label"] is None
    assert got["similar"][0]["workload"] == "roundcube"


def test_filters_and_limits(memory: QdrantMemory) -> None:
    since = (NOW - timedelta(days=7)).isoformat()
    got = recalled(memory, fingerprint=incident.RECREATED_FP, since=since, limit=1)
    assert len(got["before"]["occurrences"]) == 1 and got["truncated"] is True
    assert got["before"]["last_30d"] == 2  # the 20-day-old one is before `since`
    narrow = recalled(memory, fingerprint=incident.RECREATED_FP, namespace="minio")
    assert {g["namespace"] for g in narrow["similar"]} == {"minio"}
    # A node's alert has no namespace: it stays in "around" under any namespace filter.
    assert [o["alertname"] for o in narrow["around"]] == ["NodeMemoryPressure"]
    alone = recalled(memory, fingerprint=incident.RECREATED_FP, window_s=60)
    assert alone["around"] == []


def test_history_of_an_identity_looks_back_from_now(memory: QdrantMemory) -> None:
    reply = answer(HistoryAsk(request_id="r", expires_at=0, alertname=incident.CRASH,
                              namespace="mail"), memory, now=NOW)  # fmt: skip
    assert reply.answer is not None
    assert len(reply.answer["occurrences"]) == 3 and reply.answer["label"] == "rare"
    wide = answer(HistoryAsk(request_id="r", expires_at=0, alertname=incident.CRASH),
                  memory, now=NOW)  # fmt: skip
    assert wide.answer is not None and len(wide.answer["occurrences"]) == 4
    none = answer(HistoryAsk(request_id="r", expires_at=0, alertname="Nope"), memory, now=NOW)
    assert none.answer == {"occurrences": [], "last_7d": 0, "last_30d": 0,
                           "typical_duration_s": None, "label": "new"}  # fmt: skip


def test_a_conversation_in_order_and_unknown_ones(memory: QdrantMemory) -> None:
    reply = answer(ConversationAsk(request_id="r", expires_at=0,
                                   conversation_id=incident.FIX_CONVERSATION), memory)  # fmt: skip
    assert reply.answer is not None
    assert [m["role"] for m in reply.answer["messages"]] == ["user", "assistant", "user"]
    assert reply.answer["messages"][1]["text"] == incident.FIX_TEXT
    missing = answer(ConversationAsk(request_id="r", expires_at=0, conversation_id="x"), memory)
    assert missing.not_found


def test_a_chunked_message_is_joined_without_its_overlaps(tmp_path: Path) -> None:
    store = open_qdrant_store(url=None, path=str(tmp_path / "q"), collection="c", timeout_s=5)
    store.ensure_collection(dim=DIM, model="word-hash")
    store.upsert(chat_points(NOW, max_chars=200, overlap_chars=60))
    reply = answer(ConversationAsk(request_id="r", expires_at=0,
                                   conversation_id=incident.FIX_CONVERSATION),
                   QdrantMemory(store))  # fmt: skip
    store.close()
    assert reply.answer is not None
    assert reply.answer["messages"][1]["text"] == incident.FIX_TEXT
