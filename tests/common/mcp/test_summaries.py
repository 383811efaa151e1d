"""The tools' readable text: every section named, long texts cut with the marker, bounded."""

from typing import Any

from common.mcp import summaries
from common.mcp.server import transport_security

LONG = "word " * 5000


def occurrence(**fields: Any) -> dict[str, Any]:
    """An occurrence as recall answers it."""
    return {
        "fingerprint": "0f1e2d3c4b5a6978", "alertname": "KubePodCrashLooping",
        "namespace": "mail", "workload": "mailu-front", "severity": "critical",
        "summary": "Pod mail/mailu-front-7d9c5 is crash looping", "status": "resolved",
        "startsAt": "2026-04-15T09:41:00Z", "endsAt": "2026-04-15T09:45:05Z",
        "duration_s": 245.0, **fields,
    }  # fmt: skip


def test_a_search_hit_reads_as_one_line_each() -> None:
    answer = {
        "query": "mailu",
        "results": [
            {"score": 0.91, "kind": "alert", "payload": {
                "alertname": "KubePodCrashLooping", "status": "firing",
                "labels": {"namespace": "mail", "pod": "mailu-front-7d9c5"},
                "startsAt": "2026-04-15T09:41:00Z", "summary": LONG}},
            {"score": 0.5, "kind": "chat", "payload": {
                "title": "Mail down", "conversation_id": "conv-1", "role": "assistant",
                "created_at": "2026-04-15T10:00:00Z", "text": "restart the front pod"}},
        ],
    }  # fmt: skip
    lines = summaries.search_text(answer).splitlines()
    assert lines[1].startswith("- 0.910 alert: KubePodCrashLooping mail/mailu-front-7d9c5 [firing]")
    assert lines[1].endswith(summaries.CUT) and len(lines[1]) < 450
    assert 'chat: "Mail down" (conversation_id conv-1) assistant' in lines[2]
    assert "Nothing stored matches" in summaries.search_text({"query": "x", "results": []})


def test_a_recall_names_every_section_and_keeps_the_fix() -> None:
    answer = {
        "query": {"fingerprint": "0f1e2d3c4b5a6978"},
        "alert": occurrence(status="firing", endsAt=None, duration_s=None),
        "before": {"occurrences": [occurrence()], "last_7d": 1, "last_30d": 3,
                   "typical_duration_s": 245.0, "label": "rare"},
        "around": [occurrence(alertname="NodeMemoryPressure", workload=None, duration_s=600)],
        "similar": [{"alertname": "KubePodCrashLooping", "namespace": "chat", "workload": "api",
                     "count": 2, "latest": occurrence(namespace="chat"), "score": 0.8}],
        "discussed": [{"conversation_id": "conv-1", "title": "Mail down", "score": 0.7,
                  "created_at": "2026-04-15T10:00:00Z", "role": "assistant",
                  "chunk": "The fix: raise the liveness timeout to 10s.",
                  "neighbours": ["user: mailu-front keeps restarting"]}],
        "truncated": True,
    }  # fmt: skip
    text = summaries.recall_text(answer)
    assert text.startswith("Recall for KubePodCrashLooping mail/mailu-front [firing]")
    assert (
        "This alert before (rare): 1 in the last 7 days, 3 in 30; typical duration 4m05s." in text
    )
    assert "- KubePodCrashLooping mail/mailu-front [resolved] 2026-04-15T09:41:00Z until" in text
    assert "Around it:\n- NodeMemoryPressure mail/- [resolved]" in text and "10m00s" in text
    assert "- KubePodCrashLooping chat/api: 2 times, latest 2026-04-15T09:41:00Z" in text
    assert "assistant: The fix: raise the liveness timeout to 10s." in text
    assert "around it, user: mailu-front keeps restarting" in text
    assert "Cut to fit" in text


def test_an_empty_recall_says_so_per_section() -> None:
    empty = {"query": {"text": "disk"}, "alert": None, "before": {"occurrences": [],
             "last_7d": 0, "last_30d": 0, "typical_duration_s": None, "label": None},
             "around": [], "similar": [], "discussed": [], "truncated": False}  # fmt: skip
    text = summaries.recall_text(empty)
    assert "typical duration unknown" in text
    assert "Around it: nothing else started near it." in text
    assert "Similar elsewhere: none." in text and "What was said: nothing stored." in text


def test_a_conversation_is_bounded_per_message() -> None:
    message = {"message_id": "m1", "role": "user", "created_at": "t", "text": LONG}
    answer = {"conversation_id": "conv-1", "title": "Mail down", "truncated": False,
              "messages": [message]}  # fmt: skip
    text = summaries.conversation_text(answer)
    assert text.startswith('Conversation "Mail down" (conversation_id conv-1), 1 messages:')
    assert len(text.splitlines()[1]) < summaries.MESSAGE_CHARS + 40
    assert text.endswith(summaries.CUT)


def test_allowed_hosts_take_any_port_and_star_turns_the_check_off() -> None:
    security = transport_security(" cortex-gateway , localhost")
    assert security.enable_dns_rebinding_protection
    assert security.allowed_hosts == ["cortex-gateway", "cortex-gateway:*", "localhost",
                                      "localhost:*"]  # fmt: skip
    assert "https://cortex-gateway:*" in security.allowed_origins
    assert not transport_security("*").enable_dns_rebinding_protection
