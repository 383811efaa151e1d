"""The atomic dedup + enqueue script, on fakeredis (pure Redis logic, no worker involved)."""

import base64
from collections.abc import AsyncIterator
from typing import Any

import fakeredis
import orjson
import pytest
from redis.asyncio import Redis

from common import keys
from common.enqueue import Candidate, Enqueuer, Route

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


def item(key: str, state: str = "firing") -> Candidate:
    return Candidate(
        key=key, state=state, item_json=orjson.dumps({"key": key, "s": state}).decode()
    )


def decode(raw: bytes) -> tuple[dict[str, Any], list[Any]]:
    """A pushed message and its Celery body, as kombu's Redis transport would read them."""
    message = orjson.loads(raw)
    body = message["body"]
    if message["properties"].get("body_encoding") == "base64":
        body = base64.b64decode(body)
    return message, orjson.loads(body)


async def test_new_items_become_one_message_with_all_of_them(redis: Redis) -> None:
    outcome = await Enqueuer(redis).offer([(ROUTE, [item("a"), item("b")])])
    assert (outcome.accepted, outcome.updated, outcome.duplicates) == (2, 0, 0)
    assert await redis.llen("alerts") == 0  # priority 3 lives in its own bucket list
    [raw] = await redis.lrange("alerts:3", 0, -1)
    message, (args, kwargs, embed) = decode(raw)
    assert message["headers"]["task"] == "cortex.embed_alerts"
    assert message["properties"]["priority"] == 3
    assert message["properties"]["delivery_info"] == {"exchange": "", "routing_key": "alerts"}
    assert args == [[{"key": "a", "s": "firing"}, {"key": "b", "s": "firing"}]]
    assert kwargs == {} and embed["chain"] is None


async def test_resend_is_a_duplicate_and_pushes_nothing(redis: Redis) -> None:
    enqueuer = Enqueuer(redis)
    await enqueuer.offer([(ROUTE, [item("a")])])
    outcome = await enqueuer.offer([(ROUTE, [item("a")])])
    assert (outcome.accepted, outcome.duplicates) == (0, 1)
    assert await redis.llen("alerts:3") == 1
    assert await redis.ttl(keys.seen("a")) > 0


async def test_changed_state_goes_to_the_update_queue_once(redis: Redis) -> None:
    enqueuer = Enqueuer(redis)
    await enqueuer.offer([(ROUTE, [item("a")])])
    first = await enqueuer.offer([(ROUTE, [item("a", "resolved")])])
    again = await enqueuer.offer([(ROUTE, [item("a", "resolved")])])
    assert (first.updated, again.duplicates) == (1, 1)
    [raw] = await redis.lrange("store:3", 0, -1)
    message, (args, _, _) = decode(raw)
    assert message["headers"]["task"] == "cortex.update_alerts"
    assert args == [[{"key": "a", "s": "resolved"}]]
    assert await redis.llen("alerts:3") == 1


async def test_changed_chat_content_is_embedded_again(redis: Redis) -> None:
    enqueuer = Enqueuer(redis)
    await enqueuer.offer([(CHATS, [item("m", "hash1")])])
    edited = await enqueuer.offer([(CHATS, [item("m", "hash2")])])
    assert edited.accepted == 1
    assert await redis.llen("chats:9") == 2


async def test_same_key_twice_in_one_offer_is_queued_once(redis: Redis) -> None:
    outcome = await Enqueuer(redis).offer([(ROUTE, [item("a"), item("a")])])
    assert (outcome.accepted, outcome.duplicates) == (1, 1)


async def test_non_ascii_and_quotes_survive_the_lua_splice(redis: Redis) -> None:
    text = 'Pod "mailu" naïve — 日本語 \\ / end'
    candidate = Candidate(key="u", state="x", item_json=orjson.dumps({"t": text}).decode())
    await Enqueuer(redis).offer([(CHATS, [candidate])])
    _, (args, _, _) = decode((await redis.lrange("chats:9", 0, -1))[0])
    assert args == [[{"t": text}]]
