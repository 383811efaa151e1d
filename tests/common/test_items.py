"""Dedup keys and queued payloads: what makes a resend a duplicate and an edit a change."""

from datetime import UTC, datetime

from common.alertmanager import Notification
from common.chats import ChatBatch
from common.items import alert_item, chat_messages
from common.text import alert_text, chat_text
from tests.support import payloads


def first_item(alert: dict[str, object]) -> object:
    notification = Notification.model_validate(payloads.notification(alert))
    return alert_item(notification.alerts[0], notification)


def test_firing_and_resolved_share_one_key() -> None:
    firing = first_item(payloads.alert())
    resolved = first_item(payloads.alert(status="resolved", ends_at="2026-04-15T10:00:00Z"))
    assert firing.key == resolved.key  # type: ignore[attr-defined]
    assert firing.point_id == resolved.point_id  # type: ignore[attr-defined]


def test_a_new_occurrence_has_a_new_key() -> None:
    a = first_item(payloads.alert())
    b = first_item(payloads.alert(starts_at="2026-04-16T09:41:00Z"))
    assert a.key != b.key  # type: ignore[attr-defined]


def test_equivalent_timestamps_give_the_same_key() -> None:
    a = first_item(payloads.alert(starts_at="2026-04-15T09:41:00Z"))
    b = first_item(payloads.alert(starts_at="2026-04-15T11:41:00+02:00"))
    assert a.key == b.key  # type: ignore[attr-defined]


def test_missing_fingerprint_falls_back_to_labels() -> None:
    a = first_item(payloads.alert(fingerprint=""))
    b = first_item(payloads.alert(fingerprint="", pod="other"))
    assert a.fingerprint and a.fingerprint != b.fingerprint  # type: ignore[attr-defined]


def test_zero_ends_at_means_none_and_status_stays_out_of_the_text() -> None:
    item = first_item(payloads.alert())
    assert item.ends_at is None  # type: ignore[attr-defined]
    text = alert_text(item)  # type: ignore[arg-type]
    assert "firing" not in text and "mailu-front" in text and "crash looping" in text


def test_chat_edit_changes_hash_not_key_and_empty_messages_are_skipped() -> None:
    raw = payloads.chat_batch("c", n=2)
    raw["conversations"][0]["messages"].append(
        {"id": "empty", "role": "user", "text": "  ", "created_at": datetime.now(UTC).isoformat()}
    )
    before, skipped = chat_messages(ChatBatch.model_validate(raw), max_chars=2000, overlap_chars=0)
    raw["conversations"][0]["messages"][0]["text"] = "edited"
    after, _ = chat_messages(ChatBatch.model_validate(raw), max_chars=2000, overlap_chars=0)
    assert (len(before), skipped) == (2, 1)
    assert before[0].key == after[0].key and before[0].content_hash != after[0].content_hash
    assert before[1].content_hash == after[1].content_hash


def test_a_long_message_becomes_chunks_sharing_its_key_and_hash() -> None:
    raw = payloads.chat_batch("c", n=1)
    text = "\n\n".join(f"Paragraph {i}: " + "word " * 80 for i in range(20))
    raw["conversations"][0]["messages"][0]["text"] = text
    [message], _ = chat_messages(ChatBatch.model_validate(raw), max_chars=500, overlap_chars=0)
    chunks = message.chunks
    assert len(chunks) > 1 and all(len(c.text) <= 500 for c in chunks)
    assert "".join(c.text for c in chunks) == text  # nothing truncated
    assert {c.message_key for c in chunks} == {message.key}
    assert {c.content_hash for c in chunks} == {message.content_hash}
    assert len({c.point_id for c in chunks}) == len(chunks)
    assert [(c.chunk, c.chunks) for c in chunks][-1] == (len(chunks) - 1, len(chunks))
    assert "(part 2 of" in chat_text(chunks[1]) and "Paragraph" in chat_text(chunks[1])
