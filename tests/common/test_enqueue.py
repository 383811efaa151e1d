"""The intake script (dedup, routing, coalescing, storms, admission), on fakeredis."""

import base64
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import fakeredis
import orjson
import pytest
from redis.asyncio import Redis

from common import keys
from common.enqueue import Admission, Candidate, Enqueuer, Offer, Refused, Route

pytestmark = pytest.mark.anyio

ROUTE = Route(
    task="cortex.embed_alerts", queue="alerts", priority=3, ttl_s=600, on_change="update",
    update_task="cortex.update_alerts", update_queue="store", update_priority=3,
)  # fmt: skip
CHATS = Route(task="cortex.embed_chats", queue="chats", priority=9, ttl_s=600, on_change="embed")


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = fakeredis.FakeAsyncRedis()
    yield client
    await client.aclose()


def enqueuer(redis: Redis, *, batch: int = 32) -> Enqueuer:
    return Enqueuer(redis, batch_items=batch, batch_bytes=1 << 20)


def item(key: str, state: str = "firing", **fields: Any) -> Candidate:
    payload = orjson.dumps({"key": key, "s": state}).decode()
    return Candidate(key=key, state=state, items_json=payload, **fields)


def offer(*candidates: Candidate, route: Route = ROUTE, **fields: Any) -> Offer:
    return Offer(candidates=[(route, c) for c in candidates], **fields)


def decode(raw: bytes) -> tuple[dict[str, Any], list[Any]]:
    """A pushed message and its Celery body, as kombu's Redis transport would read them."""
    message = orjson.loads(raw)
    body = message["body"]
    if message["properties"].get("body_encoding") == "base64":
        body = base64.b64decode(body)
    return message, orjson.loads(body)


async def messages(redis: Redis, key: str) -> list[tuple[dict[str, Any], list[Any]]]:
    return [decode(raw) for raw in reversed(await redis.lrange(key, 0, -1))]


async def test_new_items_become_one_message_with_all_of_them(redis: Redis) -> None:
    outcome = await enqueuer(redis).offer(offer(item("a"), item("b")))
    assert (outcome.accepted, outcome.updated, outcome.duplicates) == (2, 0, 0)
    assert await redis.llen("alerts") == 0  # priority 3 lives in its own bucket list
    [(message, (args, kwargs, embed))] = await messages(redis, "alerts:3")
    assert message["headers"]["task"] == "cortex.embed_alerts"
    assert message["properties"]["priority"] == 3
    assert message["properties"]["delivery_info"] == {"exchange": "", "routing_key": "alerts"}
    assert message["headers"]["id"] == message["properties"]["delivery_tag"]
    assert args == [[{"key": "a", "s": "firing"}, {"key": "b", "s": "firing"}]]
    assert kwargs == {} and embed["chain"] is None


async def test_resend_is_a_duplicate_and_pushes_nothing(redis: Redis) -> None:
    e = enqueuer(redis)
    await e.offer(offer(item("a")))
    outcome = await e.offer(offer(item("a")))
    assert (outcome.accepted, outcome.duplicates) == (0, 1)
    assert await redis.llen("alerts:3") == 1
    assert await redis.ttl(keys.seen("a")) > 0


async def test_changed_state_goes_to_the_update_queue_once(redis: Redis) -> None:
    e = enqueuer(redis)
    await e.offer(offer(item("a")))
    first = await e.offer(offer(item("a", "resolved")))
    again = await e.offer(offer(item("a", "resolved")))
    assert (first.updated, again.duplicates) == (1, 1)
    [(message, (args, _, _))] = await messages(redis, "store:3")
    assert message["headers"]["task"] == "cortex.update_alerts"
    assert args == [[{"key": "a", "s": "resolved"}]]
    assert await redis.llen("alerts:3") == 1


async def test_changed_chat_content_is_embedded_again(redis: Redis) -> None:
    e = enqueuer(redis)
    await e.offer(offer(item("m", "hash1"), route=CHATS))
    edited = await e.offer(offer(item("m", "hash2"), route=CHATS))
    assert edited.accepted == 1
    [(_, (args, _, _))] = await messages(redis, "chats:9")  # both versions, one batch
    assert [i["s"] for i in args[0]] == ["hash1", "hash2"]


async def test_same_key_twice_in_one_offer_is_queued_once(redis: Redis) -> None:
    outcome = await enqueuer(redis).offer(offer(item("a"), item("a")))
    assert (outcome.accepted, outcome.duplicates) == (1, 1)


async def test_non_ascii_and_quotes_survive_the_lua_splice(redis: Redis) -> None:
    text = 'Pod "mailu" naïve — 日本語 \\ / end %s @@ID@@'
    candidate = Candidate(key="u", state="x", items_json=orjson.dumps({"t": text}).decode())
    e = enqueuer(redis)
    await e.offer(offer(candidate, route=CHATS))
    await e.offer(offer(item("v", "y"), route=CHATS))  # merged: the body is decoded and re-encoded
    [(_, (args, _, _))] = await messages(redis, "chats:9")
    assert args == [[{"t": text}, {"key": "v", "s": "y"}]]


async def test_requests_coalesce_into_the_queued_message_up_to_the_batch_size(
    redis: Redis,
) -> None:
    e = enqueuer(redis, batch=3)
    outcomes = [await e.offer(offer(item(f"a{i}"))) for i in range(7)]
    assert sum(o.messages_created for o in outcomes) == 3
    assert sum(o.messages_merged for o in outcomes) == 4
    batches = [args[0] for _, (args, _, _) in await messages(redis, "alerts:3")]
    assert [[i["key"] for i in b] for b in batches] == [
        ["a0", "a1", "a2"], ["a3", "a4", "a5"], ["a6"],
    ]  # fmt: skip
    ids = {m["headers"]["id"] for m, _ in await messages(redis, "alerts:3")}
    assert len(ids) == 3  # every message has its own task id and delivery tag


async def test_a_route_without_coalescing_pushes_each_request_as_its_own_message(
    redis: Redis,
) -> None:
    alerts = dataclasses.replace(ROUTE, coalesce=False)
    e = enqueuer(redis)
    outcomes = [await e.offer(offer(item(f"a{i}"), item(f"b{i}"), route=alerts)) for i in range(3)]
    assert [(o.messages_created, o.messages_merged) for o in outcomes] == [(1, 0)] * 3
    batches = [args[0] for _, (args, _, _) in await messages(redis, "alerts:3")]
    assert [[i["key"] for i in b] for b in batches] == [["a0", "b0"], ["a1", "b1"], ["a2", "b2"]]
    assert not await redis.exists(keys.TAIL + "alerts:3")
    # Status updates of such a route still coalesce: they are small and nobody tops them up.
    for i in range(3):
        await e.offer(offer(item(f"a{i}", "resolved"), route=alerts))
    [(_, (args, _, _))] = await messages(redis, "store:3")
    assert [i["key"] for i in args[0]] == ["a0", "a1", "a2"]


async def test_a_message_taken_by_a_worker_is_never_touched(redis: Redis) -> None:
    e = enqueuer(redis)
    await e.offer(offer(item("a")))
    taken = await redis.rpop("alerts:3")  # as kombu's BRPOP does
    await e.offer(offer(item("b")))
    [(_, (args, _, _))] = await messages(redis, "alerts:3")
    assert args == [[{"key": "b", "s": "firing"}]]
    assert taken is not None and decode(taken)[1][0] == [[{"key": "a", "s": "firing"}]]


async def test_a_foreign_message_at_the_head_is_not_merged_into(redis: Redis) -> None:
    e = enqueuer(redis)
    await e.offer(offer(item("a")))
    await redis.lpush("alerts:3", b'{"a retry or a digest": true}')
    await e.offer(offer(item("b")))
    assert await redis.llen("alerts:3") == 3


async def test_chunks_of_a_message_travel_together_and_count_as_inputs(redis: Redis) -> None:
    chunks = ",".join(orjson.dumps({"key": f"m#{i}"}).decode() for i in range(3))
    message = Candidate(key="m", state="h", items_json=chunks, inputs=3)
    e = enqueuer(redis, batch=4)
    await e.offer(offer(message, route=CHATS))
    await e.offer(offer(item("n", "h"), route=CHATS))  # 3 + 1 fits one batch
    await e.offer(offer(item("o", "h"), route=CHATS))  # 5 would not
    batches = [args[0] for _, (args, _, _) in await messages(redis, "chats:9")]
    assert [len(b) for b in batches] == [4, 1]


async def test_storm_members_go_to_the_digest_once_the_set_is_over_threshold(
    redis: Redis,
) -> None:
    def storm_item(n: int) -> Candidate:
        return item(
            f"s{n}", storm_set="cortex:storm:X:1", storm_member=f"fp{n}",
            storm_digest="cortex:digest:name:X:1",
        )  # fmt: skip

    e = enqueuer(redis)
    for n in range(4):
        await e.offer(offer(storm_item(n), storm_threshold=2, storm_ttl_s=60, digest_due=99.0))
    await e.offer(offer(storm_item(0), storm_threshold=2, storm_ttl_s=60, digest_due=99.0))
    assert await redis.llen("alerts:3") == 1  # s0, s1 (one merged message)
    assert await redis.llen("cortex:digest:name:X:1") == 2  # s2, s3; the re-send is a dup
    assert await redis.zscore(keys.DIGESTS_DUE, "cortex:digest:name:X:1") == 99.0
    assert await redis.scard("cortex:storm:X:1") == 4


async def test_pressure_entries_are_written_in_the_same_call(redis: Redis) -> None:
    await redis.zadd(keys.PRESSURE_ALERTS, {"old": 5.0})
    await enqueuer(redis).offer(offer(item("a"), pressure=[("fp", 200.0)], now=100.0))
    assert await redis.zrange(keys.PRESSURE_ALERTS, 0, -1, withscores=True) == [(b"fp", 200.0)]


async def test_admission_refuses_over_the_cap_before_writing_anything(redis: Redis) -> None:
    admission = Admission(
        cap_items=5, per_message=2, lists=["chats:9", "cortex:parked:chats:9"],
        drained_keys=["cortex:drained:chat:1", "cortex:drained:chat:2"],
    )  # fmt: skip
    e = enqueuer(redis, batch=2)
    await redis.rpush("cortex:parked:chats:9", b"parked message")
    await redis.set("cortex:drained:chat:2", 30)
    ok = await e.offer(offer(item("a", "h"), route=CHATS, admission=admission))
    assert ok.accepted == 1  # backlog: 1 parked message x 2 = 2 < 5
    await e.offer(offer(item("b", "h"), item("c", "h"), route=CHATS, admission=admission))
    with pytest.raises(Refused) as refused:
        await e.offer(offer(item("d", "h"), route=CHATS, admission=admission))
    assert (refused.value.backlog_items, refused.value.drained) == (6, (0, 30))
    assert await redis.get(keys.seen("d")) is None
