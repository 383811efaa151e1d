"""The controller's sweep: what no live lease holds goes back, what a live worker holds stays."""

from collections.abc import Iterator

import fakeredis
import orjson
import pytest

from common import envelope, keys
from common.contract import Queue, Task, queue_key, queue_keys
from workers import gather, leases
from workers.recovery import GRACE_S, SETTLE_S, Recovery

NOW = 1_000_000.0


@pytest.fixture
def r() -> Iterator[fakeredis.FakeRedis]:
    client = fakeredis.FakeRedis()
    yield client
    client.close()


def held(r: fakeredis.FakeRedis, tag: str, task_id: str, *, age_s: float) -> None:
    r.hset(keys.KOMBU_UNACKED, tag, orjson.dumps([{"headers": {"id": task_id}}, "", "alerts"]))
    r.zadd(keys.KOMBU_UNACKED_INDEX, {tag: NOW - age_s})


def sweeper(r: fakeredis.FakeRedis) -> tuple[Recovery, list[str]]:
    restored: list[str] = []
    recovery = Recovery(r, restored.append)
    recovery.sweep(now=NOW - SETTLE_S)  # Redis has answered for a while
    return recovery, restored


def test_only_old_entries_without_a_live_lease_are_put_back(r: fakeredis.FakeRedis) -> None:
    held(r, "dead", "t-dead", age_s=GRACE_S + 1)
    held(r, "running", "t-running", age_s=GRACE_S + 1)
    held(r, "young", "t-young", age_s=1)
    held(r, "lapsed", "t-lapsed", age_s=GRACE_S + 1)
    leases.renew(r, ["t-running"], now=NOW)
    r.zadd(keys.LEASES, {"t-lapsed": NOW - 1})
    recovery, restored = sweeper(r)
    assert recovery.sweep(now=NOW) == (2, 0)
    assert sorted(restored) == ["dead", "lapsed"]


def test_nothing_is_put_back_right_after_redis_came_back(r: fakeredis.FakeRedis) -> None:
    held(r, "dead", "t-dead", age_s=GRACE_S + 1)
    recovery, restored = sweeper(r)
    recovery.redis_failed()
    assert recovery.sweep(now=NOW) == (0, 0)  # live workers have not renewed yet
    assert recovery.sweep(now=NOW + SETTLE_S) == (1, 0) and restored == ["dead"]


def test_claims_of_tasks_no_longer_held_are_given_back(r: fakeredis.FakeRedis) -> None:
    lists = queue_keys(Queue.ALERTS)
    for name in ("a", "b"):
        message = envelope.message(Task.EMBED_ALERTS, Queue.ALERTS, 6, [[{"key": name}]])
        r.lpush(queue_key(Queue.ALERTS, 6), message)
    dead = gather.claim(r, task=Task.EMBED_ALERTS, owner="t-dead", lists=lists, room=1)
    live = gather.claim(r, task=Task.EMBED_ALERTS, owner="t-live", lists=lists, room=1)
    r.zadd(keys.CLAIMS, {dead.key: NOW - GRACE_S - 1, live.key: NOW - GRACE_S - 1})
    leases.renew(r, ["t-live"], now=NOW)
    recovery, _ = sweeper(r)
    assert recovery.sweep(now=NOW) == (0, 1)
    assert r.llen(queue_key(Queue.ALERTS, 6)) == 1 and r.exists(live.key)


def test_held_ids_are_those_not_yet_acknowledged() -> None:
    class Request:
        def __init__(self, task_id: str, acknowledged: bool) -> None:
            self.id, self.acknowledged = task_id, acknowledged

    assert leases.held_ids([Request("a", False), Request("b", True)]) == ["a"]
