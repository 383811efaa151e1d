"""An embedding task's body on a real Redis and the dev embedder: one item, one embedding."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
import requests

from common import keys
from common.alertmanager import Notification
from common.cli.redisserver import RedisServer
from common.contract import Queue, Task
from common.embedding.client import ollama_embedder
from common.embedding.devembedder import DevEmbedder
from common.items import alert_item
from common.protect.guard import EmbedGuard
from common.settings import CommonSettings
from tests.support import payloads
from workers import embedding, job
from workers.guarded import GuardedEmbedder
from workers.settle import Delivery
from workers.spool import Spool


@pytest.fixture
def r(clean_redis: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(clean_redis.url)
    yield client
    client.close()


def items(n: int) -> list[dict[str, Any]]:
    alerts = [payloads.alert(f"Job{i}", fingerprint=f"job-{i}") for i in range(n)]
    notification = Notification.model_validate(payloads.notification(*alerts))
    return [alert_item(a, notification).model_dump() for a in notification.alerts]


class Task_:
    """One task run's parts, as workers/tasks.py wires them."""

    def __init__(self, r: redis.Redis, url: str, embedder: DevEmbedder, spool: Path) -> None:
        self.settings = CommonSettings(redis_url=url, ollama_url=embedder.url, embed_dim=768)
        self.r, self.guard = r, EmbedGuard(r, self.settings)
        self.embedder = ollama_embedder(self.settings, requests.Session())
        self.spool = Spool(spool, model="nomic-embed-text", max_bytes=1 << 20, ttl_s=3600)

    def run(self, batch: list[dict[str, Any]], task_id: str = "task-1") -> int:
        guarded = GuardedEmbedder(self.embedder, self.guard, self.spool, kind="alert", wait_s=5)
        spec = job.Job(Delivery(task_id, ""), Task.EMBED_ALERTS, Queue.ALERTS, 6, "alert")
        return job.run(spec, batch, lambda raw, e: embedding.embed_alerts(raw, e, prefix=""),
                       guarded, r=self.r, guard=self.guard)  # fmt: skip


def test_vectors_of_a_failed_hand_off_are_reused_not_embedded_again(
    r: redis.Redis, clean_redis: RedisServer, embedder: DevEmbedder, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    task = Task_(r, clean_redis.url, embedder, tmp_path / "spool")
    r.hset(keys.LIMITER, "baseline", 0.05)  # the speed is known: one call for the batch
    batch = items(3)

    def redis_is_away(*_: object) -> bool:
        raise redis.ConnectionError("Redis went away")

    monkeypatch.setattr(job, "settle", redis_is_away)
    monkeypatch.setattr(job, "SETTLE_PATIENCE_S", 0.0)
    with pytest.raises(job.HandOffFailed):
        task.run(batch)
    assert embedder.stats()["inputs"] == 3 and r.llen("store:6") == 0
    monkeypatch.undo()

    assert task.run(batch) == 3  # the retry: points from the spool
    assert embedder.stats()["inputs"] == 3  # not one input embedded twice
    [message] = r.lrange("store:6", 0, -1)
    points = orjson.loads(orjson.loads(message)["body"])[0][0]
    assert len(points) == 3 and all(len(p["vector"]) == 768 for p in points)
    assert list((tmp_path / "spool").glob("*/*")) == []  # handed off: forgotten


def test_a_settled_task_id_is_not_run_twice(
    r: redis.Redis, clean_redis: RedisServer, embedder: DevEmbedder, tmp_path: Path
) -> None:
    task = Task_(r, clean_redis.url, embedder, tmp_path / "spool")
    assert task.run(items(1)) == 1
    assert task.run(items(1)) == 0  # a copy kombu restored meanwhile
    assert embedder.stats()["calls"] == 1 and r.llen("store:6") == 1


def test_what_does_not_fit_one_call_goes_back_first_in_line(
    r: redis.Redis, clean_redis: RedisServer, embedder: DevEmbedder, tmp_path: Path
) -> None:
    task = Task_(r, clean_redis.url, embedder, tmp_path / "spool")
    r.hset(keys.LIMITER, "baseline", 4.0)  # 4 s an input, calls of about 10 s: 2 inputs
    assert task.run(items(5)) == 2
    queued = [orjson.loads(orjson.loads(m)["body"])[0][0] for m in r.lrange("alerts:6", 0, -1)]
    # Consumers take from the right: one call's worth next, then the remainder.
    assert [len(q) for q in queued] == [1, 2]
    assert [i["alertname"] for q in reversed(queued) for i in q] == ["Job2", "Job3", "Job4"]
