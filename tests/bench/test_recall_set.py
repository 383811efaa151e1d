"""The recall benchmark's labelled set is well-formed, and its scoring means what it says."""

from collections import Counter
from dataclasses import replace

from bench.recall import checks, dataset, metrics
from bench.recall.payloads import chat_batches, notification
from bench.recall.search import ranked
from common.alertmanager import Notification
from common.chats import ChatBatch

RECALL_SET = dataset.load()


def test_the_set_is_well_formed() -> None:
    assert checks.problems(RECALL_SET) == []


def test_the_set_has_its_sizes_and_every_question_kind() -> None:
    assert len(RECALL_SET.alerts) >= 30
    assert len(RECALL_SET.chats) >= 15
    assert len(RECALL_SET.questions) >= 40
    assert set(Counter(q.kind for q in RECALL_SET.questions)) == set(dataset.KINDS)


def test_every_relevant_id_names_an_item_of_the_set() -> None:
    documents = RECALL_SET.documents()
    assert all(d in documents for q in RECALL_SET.questions for d in q.relevant)


def test_the_checks_catch_a_bad_question() -> None:
    first = RECALL_SET.questions[0]
    bad = [
        replace(first, relevant=("alert:no-such-incident",)),
        replace(first, kind="paraphrase", text="pihole is crash looping"),
        replace(first, kind="identifier", text="pihole-0", identifier="pihole-0", relevant=()),
        replace(first, kind="fix", relevant=("alert:pihole-crashloop",)),
    ]
    for question in bad:
        assert checks.problems(replace(RECALL_SET, questions=(question,))), question


def test_the_intake_models_accept_every_alert_and_conversation() -> None:
    for alert in RECALL_SET.alerts:
        Notification.model_validate(notification(alert))
    batches = [ChatBatch.model_validate(b) for b in chat_batches(RECALL_SET.chats)]
    assert sum(len(b.conversations) for b in batches) == len(RECALL_SET.chats)


def test_hits_map_back_to_item_ids_once_each() -> None:
    alert, chat = RECALL_SET.alerts[0], RECALL_SET.chats[0]
    hits = [
        {"kind": "chat", "payload": {"conversation_id": chat.conversation_id, "chunk": 0}},
        {"kind": "alert", "payload": {"fingerprint": alert.fingerprint}},
        {"kind": "chat", "payload": {"conversation_id": chat.conversation_id, "chunk": 1}},
        {"kind": "alert", "payload": {"fingerprint": "0000000000000000"}},
    ]
    assert ranked(hits, RECALL_SET.doc_id_of()) == [chat.doc_id, alert.doc_id]


def test_recall_is_capped_at_k_and_mrr_reads_the_first_relevant_rank() -> None:
    score = metrics.score(["x", "a", "y", "b", "c"], ["a", "b", "c"])
    assert (score.recall_1, score.recall_5, score.mrr_10) == (0.0, 1.0, 0.5)
    assert metrics.score(["a"], ["a", "b"]).recall_1 == 1.0
    assert metrics.score(["x"] * 10 + ["a"], ["a"]).mrr_10 == 0.0
