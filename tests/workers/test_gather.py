"""Topping up a batch by claiming queued messages: taken whole, given back whole, never lost."""

from collections.abc import Iterator

import fakeredis
import orjson
import pytest

from common import envelope, keys
from common.contract import Queue, Task, queue_key, queue_keys
from workers import gather

TASK = Task.EMBED_ALERTS.value
LISTS = queue_keys(Queue.ALERTS)


@pytest.fixture
def r() -> Iterator[fakeredis.FakeRedis]:
    client = fakeredis.FakeRedis()
    yield client
    client.close()


def queue(r: fakeredis.FakeRedis, priority: int, *names: str, task: str = TASK) -> bytes:
    """Push a message as intake does (newest at the head); return it."""
    items = [{"key": name} for name in names]
    raw = envelope.message(task, Queue.ALERTS, priority, [items])
    r.lpush(queue_key(Queue.ALERTS, priority), raw)
    return raw


def keys_of(claim: gather.Claim) -> list[str]:
    return [item["key"] for item in claim.items]


def test_claims_oldest_messages_highest_priority_first_up_to_the_room(
    r: fakeredis.FakeRedis,
) -> None:
    queue(r, 6, "i1", "i2")
    queue(r, 0, "c1")
    queue(r, 0, "c2", "c3")
    queue(r, 6, "i3", "i4", "i5")
    claim = gather.claim(r, task=TASK, lists=LISTS, room=5, owner="t1")
    assert keys_of(claim) == ["c1", "c2", "c3", "i1", "i2"]
    assert claim.messages == 3
    assert r.llen("alerts") == 0 and r.llen("alerts:6") == 1  # i3-i5 did not fit
    assert r.hlen(claim.key) == 3 and r.zscore(keys.CLAIMS, claim.key) is not None


def test_given_back_messages_are_next_in_line_byte_for_byte(r: fakeredis.FakeRedis) -> None:
    raw = queue(r, 3, "a")
    queue(r, 3, "b")
    claim = gather.claim(r, task=TASK, lists=LISTS, room=1, owner="t1")
    assert keys_of(claim) == ["a"]
    assert gather.give_back(r, claim.key) == 1
    assert r.rpop("alerts:3") == raw  # the consumer end: taken before "b"
    assert r.zcard(keys.CLAIMS) == 0


def test_a_claim_names_the_task_that_made_it(r: fakeredis.FakeRedis) -> None:
    queue(r, 3, "a")
    claim = gather.claim(r, task=TASK, owner="0b7e-task-id", lists=LISTS, room=32)
    assert gather.owner(claim.key) == "0b7e-task-id"
    assert r.zscore(keys.CLAIMS, claim.key) is not None


def test_other_tasks_and_celery_published_messages_are_left_alone(
    r: fakeredis.FakeRedis,
) -> None:
    queue(r, 6, "d", task=Task.EMBED_DIGEST.value)
    retry = orjson.dumps(
        {"body": "W1tdXQ==", "headers": {"task": TASK},
         "properties": {"body_encoding": "base64"}}
    )  # fmt: skip
    r.lpush("alerts:3", retry)
    r.lpush("alerts", b"not json at all")
    claim = gather.claim(r, task=TASK, lists=LISTS, room=32, owner="t1")
    assert claim.messages == 0 and claim.items == []
    assert (r.llen("alerts"), r.llen("alerts:3"), r.llen("alerts:6")) == (1, 1, 1)
    assert r.zcard(keys.CLAIMS) == 0


def test_no_room_claims_nothing(r: fakeredis.FakeRedis) -> None:
    queue(r, 3, "a")
    assert gather.claim(r, task=TASK, lists=LISTS, room=0, owner="t1").messages == 0
    assert r.llen("alerts:3") == 1
