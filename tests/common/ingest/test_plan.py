"""Planning posts: bounded in messages and bytes, over-long messages sent in parts."""

import orjson

from common.chats import ChatBatch
from common.ingest.librechat import Conversation, Message
from common.ingest.plan import Limits, pack, split_parts


def conversation(cid: str, *texts: str) -> Conversation:
    messages = [
        Message(id=f"{cid}-m{i}", role="user", text=t, created_at="2026-04-01T10:00:00.000Z")
        for i, t in enumerate(texts)
    ]
    return Conversation(id=cid, title=f"about {cid}", messages=messages)


def test_a_message_over_the_part_limit_is_split_into_numbered_parts() -> None:
    prose = "Ceph OSD recovery notes. " * 500  # 12,500 characters
    short, long = conversation("c1", "short", prose)["messages"]
    split, parts = split_parts(conversation("c1", "short", prose), 5000)
    assert parts == 3
    assert split["messages"][0] == short
    ids = [m["id"] for m in split["messages"][1:]]
    assert ids == ["c1-m1#p1", "c1-m1#p2", "c1-m1#p3"]
    assert all(len(m["text"]) <= 5000 for m in split["messages"])
    assert "".join(m["text"] for m in split["messages"][1:]) == prose  # nothing lost
    assert {m["created_at"] for m in split["messages"]} == {long["created_at"]}


def test_messages_under_the_limit_are_untouched() -> None:
    original = conversation("c1", "a", "b")
    assert split_parts(original, 5000) == (original, 0)


def test_posts_hold_at_most_batch_messages_and_keep_order() -> None:
    convs = [conversation(f"c{i}", *(f"text {i}.{j}" for j in range(5))) for i in range(7)]
    posts = list(pack(convs, Limits(batch_messages=8)))
    assert [p.messages for p in posts] == [8, 8, 8, 8, 3]
    sent = [(c["id"], m["id"]) for p in posts for c in p.conversations for m in c["messages"]]
    assert sent == [(c["id"], m["id"]) for c in convs for m in c["messages"]]
    # A conversation cut between two posts appears in both, each with its own messages.
    assert posts[0].conversation_ids() == ["c0", "c1"] and posts[1].conversation_ids()[0] == "c1"


def test_posts_stay_under_the_byte_bound_and_validate_as_a_chat_batch() -> None:
    convs = [conversation(f"c{i}", *("x" * 900 for _ in range(10))) for i in range(5)]
    posts = list(pack(convs, Limits(batch_bytes=8192)))
    assert len(posts) > 5
    for post in posts:
        body = post.body("librechat")
        assert len(body) <= 8192
        batch = ChatBatch.model_validate(orjson.loads(body))
        assert sum(len(c.messages) for c in batch.conversations) == post.messages


def test_a_message_bigger_than_the_byte_bound_goes_alone() -> None:
    convs = [conversation("c1", "small", "y" * 20_000, "small again")]
    posts = list(pack(convs, Limits(batch_bytes=8192)))
    assert [p.messages for p in posts] == [1, 1, 1]
    assert len(posts[1].body("librechat")) > 20_000
