"""Store-side functions called directly: a resolution is never lost, whichever arrives first."""

from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest

from common.alertmanager import Notification
from common.items import AlertItem, alert_item
from common.points import Point
from tests.support import payloads
from workers.qdrant_store import QdrantStore, open_qdrant_store
from workers.storage import store_points, update_alerts

DIM = 8


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
    [hit] = store.search([1.0] + [0.0] * (DIM - 1), kind="alert", limit=5)
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
