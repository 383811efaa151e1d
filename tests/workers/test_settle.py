"""Settling a delivery: hand-off, requeue, park and acknowledgement at once, once per task id."""

from collections.abc import Iterator

import fakeredis
import orjson
import pytest

from common import envelope, keys
from common.contract import Queue, Task, queue_key, queue_keys
from workers import gather
from workers.settle import Delivery, Settlement, settle, settled

TASK = Task.EMBED_CHATS.value


@pytest.fixture
def r() -> Iterator[fakeredis.FakeRedis]:
    client = fakeredis.FakeRedis()
    yield client
    client.close()


def held(r: fakeredis.FakeRedis, tag: str) -> None:
    """A message kombu delivered and holds unacknowledged, as its Redis transport records it."""
    r.hset(keys.KOMBU_UNACKED, tag, orjson.dumps([{"headers": {"id": tag}}, "", "chats"]))
    r.zadd(keys.KOMBU_UNACKED_INDEX, {tag: 1.0})


def message(*names: str) -> bytes:
    return envelope.message(TASK, Queue.CHATS, 9, [[{"key": n} for n in names]])


def test_a_settlement_hands_off_requeues_forgets_the_claim_and_acknowledges(
    r: fakeredis.FakeRedis,
) -> None:
    held(r, "tag-1")
    r.lpush(queue_key(Queue.CHATS, 9), message("claimed"))
    r.lpush(queue_key(Queue.CHATS, 9), message("waiting"))
    claim = gather.claim(r, task=TASK, owner="task-1", lists=queue_keys(Queue.CHATS), room=1)
    settlement = Settlement(Delivery("task-1", "tag-1"), claim_key=claim.key)
    settlement.enqueue("store:6", b"points")
    settlement.put_first("chats:9", message("rest"))
    settlement.drained = ("chat", 3)
    assert settle(r, settlement) and settled(r, "task-1")
    assert r.lrange("store:6", 0, -1) == [b"points"]
    assert [
        orjson.loads(orjson.loads(m)["body"])[0][0][0]["key"] for m in r.lrange("chats:9", 0, -1)
    ] == ["waiting", "rest"]  # rest is taken next (right)
    assert not r.exists(claim.key) and r.zcard(keys.CLAIMS) == 0
    assert r.hlen(keys.KOMBU_UNACKED) == 0 and r.zcard(keys.KOMBU_UNACKED_INDEX) == 0
    assert sum(int(r.get(k) or 0) for k in r.keys("cortex:drained:chat:*")) == 3


def test_a_task_id_settles_once_so_a_copy_changes_nothing(r: fakeredis.FakeRedis) -> None:
    first = Settlement(Delivery("task-1", "tag-1"))
    first.enqueue("store:6", b"points")
    copy = Settlement(Delivery("task-1", "tag-2"))
    copy.enqueue("store:6", b"points again")
    held(r, "tag-2")
    assert settle(r, first) and not settle(r, copy)
    assert r.lrange("store:6", 0, -1) == [b"points"]
    assert r.hexists(keys.KOMBU_UNACKED, "tag-2")  # left for Celery's own ack of the copy
    assert 0 < int(r.ttl(keys.settled("task-1"))) <= 900


def test_a_parked_settlement_keeps_the_oldest_first(r: fakeredis.FakeRedis) -> None:
    for n in ("a", "b"):
        s = Settlement(Delivery(f"task-{n}"))
        s.park(keys.parked("chats:9"), message(n))
        settle(r, s)
    parked = r.lrange(keys.parked("chats:9"), 0, -1)
    assert [orjson.loads(orjson.loads(m)["body"])[0][0][0]["key"] for m in parked] == ["a", "b"]
