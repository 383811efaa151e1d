"""The ingest checkpoint: what was accepted is not sent again; an edit is."""

import hashlib

import fakeredis

from common.ingest.checkpoint import Checkpoint, content_hash, field
from common.librechat import Conversation, Message


def conversation(cid: str, *texts: str) -> Conversation:
    messages = [
        Message(id=f"m{i}", role="assistant", text=t, created_at="2026-04-01T10:00:00.000Z")
        for i, t in enumerate(texts)
    ]
    return Conversation(id=cid, title="t", messages=messages)


def record_all(checkpoint: Checkpoint, *convs: Conversation) -> None:
    checkpoint.record(
        {field(c["id"], m["id"]): content_hash(m) for c in convs for m in c["messages"]}
    )


def test_nothing_recorded_means_everything_is_sent() -> None:
    checkpoint = Checkpoint(fakeredis.FakeRedis(), "librechat")
    convs = [conversation("c1", "a", "b"), conversation("c2", "c")]
    assert checkpoint.unsent(convs) == (convs, 0)


def test_recorded_messages_are_left_out_and_edited_ones_sent() -> None:
    client = fakeredis.FakeRedis()
    checkpoint = Checkpoint(client, "librechat")
    record_all(checkpoint, conversation("c1", "a", "b"), conversation("c2", "c"))
    assert client.hlen("cortex:ingest:librechat") == 3

    again = [conversation("c1", "a", "b edited", "new"), conversation("c2", "c")]
    unsent, unchanged = checkpoint.unsent(again)
    assert unchanged == 2
    assert [(c["id"], [m["id"] for m in c["messages"]]) for c in unsent] == [("c1", ["m1", "m2"])]


def test_each_source_has_its_own_checkpoint() -> None:
    client = fakeredis.FakeRedis()
    record_all(Checkpoint(client, "librechat"), conversation("c1", "a"))
    assert Checkpoint(client, "other").unsent([conversation("c1", "a")])[1] == 0


def test_the_same_message_twice_in_one_run_is_sent_once() -> None:
    checkpoint = Checkpoint(fakeredis.FakeRedis(), "librechat")
    unsent, unchanged = checkpoint.unsent([conversation("c1", "a"), conversation("c1", "a")])
    assert (len(unsent), unchanged) == (1, 1)


def test_lookups_span_many_fields() -> None:
    checkpoint = Checkpoint(fakeredis.FakeRedis(), "librechat")
    big = conversation("c1", *(f"text {i}" for i in range(2500)))
    record_all(checkpoint, big)
    assert checkpoint.unsent([big]) == ([], 2500)


def test_without_redis_nothing_counts_as_sent() -> None:
    checkpoint = Checkpoint(None, "librechat")
    checkpoint.record({"c1\x1fm0": "x"})
    assert checkpoint.unsent([conversation("c1", "a")])[1] == 0


def test_the_content_hash_covers_role_and_text() -> None:
    message = conversation("c1", "Grüße 🎉")["messages"][0]
    expected = hashlib.sha256("assistant\x1fGrüße 🎉".encode()).hexdigest()[:16]
    assert content_hash(message) == expected
    assert content_hash(Message(**{**message, "role": "user"})) != expected
