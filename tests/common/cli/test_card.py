"""The incident card reads as a person would tell it: times, durations, offsets and sections."""

from typing import Any

from rich.console import Console

from common.cli.card import lasted, render, when


def occurrence(start: str, **fields: Any) -> dict[str, Any]:
    return {"fingerprint": "a1c0ffee00000002", "alertname": "KubePodCrashLooping",
            "namespace": "mail", "workload": "mailu-front", "summary": "crash looping",
            "startsAt": start, "endsAt": None, "status": "firing", "duration_s": None,
            **fields}  # fmt: skip


def card(answer: dict[str, Any]) -> str:
    console = Console(record=True, width=120, color_system=None)
    render(answer, console)
    return console.export_text()


def test_times_and_durations() -> None:
    assert when("2026-05-01T11:00:43.5Z") == "2026-05-01 11:00" and when(None) == "-"
    assert lasted(None) == "firing"
    assert (lasted(90), lasted(3900), lasted(2 * 86400 + 3 * 3600)) == ("1m30s", "1h05m", "2d03h")


def test_an_alert_card_has_every_section() -> None:
    alert = occurrence("2026-05-01T11:00:00Z")
    pressure = occurrence("2026-05-01T10:55:00Z", alertname="NodeMemoryPressure", namespace=None,
                          workload="node02", status="resolved", duration_s=720)  # fmt: skip
    text = card({
        "query": {"fingerprint": alert["fingerprint"], "window_s": 900}, "alert": alert,
        "before": {"occurrences": [alert], "last_7d": 1, "last_30d": 1,
                   "typical_duration_s": None, "label": "new"},
        "around": [pressure],
        "similar": [{"alertname": "KubePodCrashLooping", "namespace": "webmail",
                     "workload": "roundcube", "count": 2, "score": 0.89,
                     "latest": occurrence("2026-04-28T09:00:00Z")}],
        "discussed": [{"conversation_id": "c1", "title": "the fix",
                       "created_at": "2026-05-01T11:20Z", "score": 0.8, "role": "assistant",
                       "chunk": "raise the probe timeout",
                       "neighbours": ["user: it loops again"]}],
        "truncated": True,
    })  # fmt: skip
    assert "KubePodCrashLooping · mail/mailu-front" in text
    assert "This alert before: new · 1 in the last 7 days, 1 in 30" in text
    assert "Around it (± 15m)" in text and "-5m  NodeMemoryPressure  -/node02" in text
    assert "0.890  KubePodCrashLooping  webmail/roundcube  2" in text
    assert "“the fix”" in text and "assistant: raise the probe timeout" in text
    assert "user: it loops again" in text and "cut to fit" in text


def test_a_text_card_has_no_alert_sections() -> None:
    text = card({"query": {"text": "disk full"}, "alert": None, "before": {}, "around": [],
                 "similar": [], "discussed": [], "truncated": False})  # fmt: skip
    assert "Recall for “disk full”" in text and "This alert before" not in text
    assert "Similar elsewhere:\n  none" in text and "What was said:\n  nothing" in text
