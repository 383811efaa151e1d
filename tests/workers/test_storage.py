"""Store-side functions called directly: a resolution is never lost, whichever arrives first."""

from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest

from common import keys
from common.alertmanager import Notification
from common.chats import ChatBatch
from common.items import AlertItem, alert_item, chat_messages
from common.points import Point, SearchQuery
from tests.support import payloads
from workers.qdrant.opening import open_qdrant_store
from workers.qdrant.store import QdrantStore
from workers.storage import store_points, update_alerts

DIM = 8


def dense(vector: list[float]) -> SearchQuery:
    """A dense-only query, as every search was before hybrid retrieval."""
    return SearchQuery(vector=vector, mode="dense")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[QdrantStore]:
    store = open_qdrant_store(url=None, path=str(tmp_path / "q"), collection="t", timeout_s=5)
    store.ensure_collection(dim=DIM, model="test")
    yield store
    store.close()


@pytest.fixture
def r() -> Iterator[fakeredis.FakeRedis]:
    client = fakeredis.FakeRedis()
    yield client
    client.close()


def item(status: str) -> AlertItem:
    ends = "2026-04-15T10:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z"
    raw = payloads.notification(payloads.alert(status=status, ends_at=ends))
    notification = Notification.model_validate(raw)
    return alert_item(notification.alerts[0], notification)


def point(of: AlertItem) -> Point:
    return Point(
        id=of.point_id, kind="alert", vector=[1.0] + [0.0] * (DIM - 1), payload=of.payload()
    )


def stored_status(store: QdrantStore) -> str:
    [hit] = store.search(dense([1.0] + [0.0] * (DIM - 1)), kind="alert", limit=5)
    return str(hit.payload["status"])


def test_resolution_after_store_patches_the_point(
    store: QdrantStore, r: fakeredis.FakeRedis
) -> None:
    assert store_points([point(item("firing"))], store, r) == 1
    assert update_alerts([item("resolved")], store, r, ttl_s=60) == 1
    assert stored_status(store) == "resolved"


def test_resolution_before_store_is_applied_by_the_store(
    store: QdrantStore, r: fakeredis.FakeRedis
) -> None:
    assert update_alerts([item("resolved")], store, r, ttl_s=60) == 0  # no point yet
    store_points([point(item("firing"))], store, r)
    assert stored_status(store) == "resolved"
    assert store.count("alert") == 1


def test_redelivered_firing_point_does_not_undo_a_resolution(
    store: QdrantStore, r: fakeredis.FakeRedis
) -> None:
    store_points([point(item("firing"))], store, r)
    update_alerts([item("resolved")], store, r, ttl_s=60)
    assert store_points([point(item("firing"))], store, r) == 0  # overwrite, not a new point
    assert stored_status(store) == "resolved"
    assert int(r.hget("cortex:stored", "alert") or 0) == 1


def chat_points(text: str, max_chars: int) -> list[Point]:
    batch = ChatBatch.model_validate(payloads.chat_batch("c", n=1))
    batch.conversations[0].messages[0].text = text
    [message], _ = chat_messages(batch, max_chars=max_chars, overlap_chars=0)
    return [
        Point(id=c.point_id, kind="chat", vector=[1.0] + [0.0] * (DIM - 1), payload=c.payload())
        for c in message.chunks
    ]


def test_an_edit_replaces_all_chunks_of_the_old_version(
    store: QdrantStore, r: fakeredis.FakeRedis
) -> None:
    old = chat_points("alpha beta gamma. " * 40, max_chars=200)
    store_points(old, store, r)
    assert store.count("chat") == len(old) > 2
    new = chat_points("short edit", max_chars=200)
    r.set(keys.seen(new[0].payload["message_key"]), new[0].payload["content_hash"])
    store_points(new, store, r)
    assert store.count("chat") == 1
    [hit] = store.search(dense([1.0] + [0.0] * (DIM - 1)), kind="chat", limit=10)
    assert hit.payload["text"] == "short edit"
    assert int(r.hget(keys.STORED_COUNTS, "chat") or 0) == 1


def test_a_late_old_version_never_overwrites_a_newer_one(
    store: QdrantStore, r: fakeredis.FakeRedis
) -> None:
    new = chat_points("the newer text", max_chars=200)
    r.set(keys.seen(new[0].payload["message_key"]), new[0].payload["content_hash"])
    store_points(new, store, r)
    late = chat_points("the older text that arrives late", max_chars=200)
    assert store_points(late, store, r) == 0
    [hit] = store.search(dense([1.0] + [0.0] * (DIM - 1)), kind="chat", limit=10)
    assert hit.payload["text"] == "the newer text"
