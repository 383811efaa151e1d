"""What the gateway already has: asked of it, never assumed; whatever it cannot confirm is sent."""

import hashlib
from collections.abc import Iterator

import orjson
import pytest

from common.chats import ChatBatch
from common.cli.procs import free_port
from common.ingest.checkpoint import (
    LOOKUP_BYTES,
    LOOKUP_MESSAGES,
    Checkpoint,
    Entry,
    content_hash,
    lookups,
)
from common.ingest.client import KNOWN_PATH, DeadlineReached, Gateway
from common.ingest.deadline import Deadline
from common.ingest.librechat import Conversation, Message
from common.items import chat_messages
from tests.common.ingest.test_client import StubGateway


def conversation(cid: str, *texts: str) -> Conversation:
    messages = [
        Message(id=f"m{i}", role="assistant", text=t, created_at="2026-04-01T10:00:00.000Z")
        for i, t in enumerate(texts)
    ]
    return Conversation(id=cid, title="t", messages=messages)


class Asker:
    """Checkpoints of one stub gateway, with the warnings they gave."""

    def __init__(self, stub: StubGateway) -> None:
        self.stub = stub
        self.gateway = Gateway(stub.url)
        self.notes: list[str] = []

    def __call__(self, source: str = "librechat") -> Checkpoint:
        return Checkpoint(self.gateway, source, deadline=Deadline(10), notify=self.notes.append)

    def hold(self, *convs: Conversation, source: str = "librechat") -> None:
        self.stub.hold({"source": source, "conversations": list(convs)})


@pytest.fixture
def asker() -> Iterator[Asker]:
    stub = StubGateway()
    checkpoints = Asker(stub)
    yield checkpoints
    checkpoints.gateway.close()
    stub.close()


def test_a_gateway_that_holds_nothing_gets_everything(asker: Asker) -> None:
    convs = [conversation("c1", "a", "b"), conversation("c2", "c")]
    assert asker().unsent(convs) == (convs, 0)
    [(_, body)] = asker.stub.lookups
    assert body == {
        "source": "librechat",
        "messages": [
            {"conversation_id": c["id"], "message_id": m["id"], "content_hash": content_hash(m)}
            for c in convs
            for m in c["messages"]
        ],
    }


def test_held_messages_are_left_out_and_edited_ones_sent(asker: Asker) -> None:
    asker.hold(conversation("c1", "a", "b"), conversation("c2", "c"))
    again = [conversation("c1", "a", "b edited", "new"), conversation("c2", "c")]
    unsent, unchanged = asker().unsent(again)
    assert unchanged == 2
    assert [(c["id"], [m["id"] for m in c["messages"]]) for c in unsent] == [("c1", ["m1", "m2"])]


def test_each_source_is_asked_about_its_own(asker: Asker) -> None:
    asker.hold(conversation("c1", "a"))
    assert asker("other").unsent([conversation("c1", "a")])[1] == 0
    assert asker.stub.lookups[0][1]["source"] == "other"


def test_the_same_message_twice_in_one_run_is_asked_about_and_sent_once(asker: Asker) -> None:
    unsent, unchanged = asker().unsent([conversation("c1", "a"), conversation("c1", "a")])
    assert (len(unsent), unchanged) == (1, 1)
    assert len(asker.stub.lookups[0][1]["messages"]) == 1


def test_lookups_are_bounded_in_messages_and_bytes(asker: Asker) -> None:
    big = conversation("c1", *(f"text {i}" for i in range(2500)))
    asker.hold(big)
    assert asker().unsent([big]) == ([], 2500)
    assert [len(b["messages"]) for _, b in asker.stub.lookups] == [LOOKUP_MESSAGES] * 5
    long_ids = [Entry("c" * 200, f"{i:0>200}", "0" * 16) for i in range(600)]
    bodies = list(lookups("librechat", long_ids))
    assert sum(n for _, n in bodies) == 600 and len(bodies) > 2
    assert all(len(body) <= LOOKUP_BYTES for body, _ in bodies)


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (404, {"error": "Not Found", "detail": None}),  # a gateway without the endpoint
        (500, {"error": "internal error", "detail": None}),
        (413, {"error": "request body too large", "detail": {"limit_bytes": 100}}),
        (200, {"known": [True]}),  # an answer that does not fit the question
    ],
)
def test_a_lookup_that_fails_means_send_and_warns_once(
    asker: Asker, status: int, answer: object
) -> None:
    asker.hold(conversation("c1", *(f"text {i}" for i in range(1200))))
    asker.stub.then(status, answer, path=KNOWN_PATH)
    again = [conversation("c1", *(f"text {i}" for i in range(1200)))]
    assert asker().unsent(again) == (again, 0)
    assert len(asker.stub.lookups) == 1  # the rest are not asked after a failure
    [note] = asker.notes
    assert note.startswith("warning: could not ask the gateway which messages it already has")
    assert note.endswith("planning as if it had none")


def test_an_unreachable_gateway_stops_a_run_at_its_deadline() -> None:
    gateway = Gateway(f"http://127.0.0.1:{free_port()}")
    checkpoint = Checkpoint(gateway, "librechat", deadline=Deadline(1), notify=lambda _: None)
    with pytest.raises(DeadlineReached):
        checkpoint.unsent([conversation("c1", "a")])
    gateway.close()


def test_without_stopping_at_the_deadline_an_unreachable_gateway_holds_nothing() -> None:
    notes: list[str] = []
    gateway = Gateway(f"http://127.0.0.1:{free_port()}")
    checkpoint = Checkpoint(
        gateway, "librechat", deadline=Deadline(1), notify=notes.append, stop_at_deadline=False
    )
    convs = [conversation("c1", "a")]
    assert checkpoint.unsent(convs) == (convs, 0)
    gateway.close()
    assert "could not ask the gateway" in notes[0] and "no answer" in notes[0]


def test_the_content_hash_covers_role_and_text() -> None:
    message = conversation("c1", "Grüße 🎉")["messages"][0]
    expected = hashlib.sha256("assistant\x1fGrüße 🎉".encode()).hexdigest()[:16]
    assert content_hash(message) == expected
    assert content_hash(Message(**{**message, "role": "user"})) != expected


def test_the_content_hash_is_the_one_the_gateway_keeps() -> None:
    sent = conversation("c1", "Grüße 🎉", "kubectl get pods -A\n" * 300)
    batch = ChatBatch.model_validate_json(
        orjson.dumps({"source": "librechat", "conversations": [sent]})
    )
    kept, _ = chat_messages(batch, max_chars=2000, overlap_chars=200)
    assert [m.content_hash for m in kept] == [content_hash(m) for m in sent["messages"]]
