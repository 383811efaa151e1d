"""Reading LibreChat exports: flat and recursive, content parts, empty messages, bad files."""

import json
import os
from pathlib import Path
from typing import Any

import pytest

from common.ingest.librechat import ExportError, find_exports, read_export

FIXTURES = Path(__file__).parents[2] / "fixtures" / "librechat"
BROKEN = Path(__file__).parents[2] / "fixtures" / "librechat-broken"


def write(tmp_path: Path, data: Any, name: str = "export.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def message(mid: str, *, user: bool = False, text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {
        "messageId": mid,
        "parentMessageId": "00000000-0000-0000-0000-000000000000",
        "sender": "User" if user else "GPT-4o",
        "isCreatedByUser": user,
        "text": text,
        "createdAt": "2026-04-01T10:00:00.000Z",
        **extra,
    }


def export(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"conversationId": "c1", "endpoint": "openAI", "title": "T", "messages": list(messages)}


def test_a_flat_export_becomes_one_conversation_in_the_chats_shape() -> None:
    read = read_export(FIXTURES / "k8s-crashloopbackoff.json")
    [conversation] = read.conversations
    assert conversation["id"] == "8a1f5e0c-3b7d-4c52-9e61-2f4d8b9a0c11"
    assert conversation["title"] == "payments-api CrashLoopBackOff after 2.14.0 rollout"
    first = conversation["messages"][0]
    assert first == {
        "id": "b3c0a7e2-1d44-4a8e-8f0b-6c2e9d1a7f01",
        "role": "user",
        "text": first["text"],
        "created_at": "2026-04-14T08:02:11.412Z",
    }
    assert "CrashLoopBackOff" in first["text"]
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant"] * 2 + ["user"]
    long = conversation["messages"][1]["text"]
    assert len(long) > 10_000 and "```yaml" in long  # never shortened by the reader
    assert read.skipped_empty == 1  # the unfinished, empty answer


def test_a_tree_export_yields_every_branch_depth_first_each_message_once() -> None:
    [conversation] = read_export(FIXTURES / "redis-memory-tree.json").conversations
    ids = [m["id"][:8] for m in conversation["messages"]]
    # user, first answer, the regenerated answer, and the thread that continued from it
    assert ids == ["5d8f3c0e", "6e9a4d1f", "7fab5e20", "80bc6f31", "91cd7042"]
    assert "läuft bei über 90 %" in conversation["messages"][0]["text"]
    assert conversation["title"] == "Redis Speicher bei 90 % \u2013 maxmemory-policy"


def test_agent_content_parts_are_joined_summarised_or_skipped() -> None:
    read = read_export(FIXTURES / "prometheus-alert-agent.json")
    [conversation] = read.conversations
    answer = conversation["messages"][1]["text"]
    assert answer.startswith("[tool call: web_search]\n\nUse `predict_linear`")
    assert "alert: NodeRootFilesystemFillingUp" in answer  # the {"value": ...} form
    assert "predict_linear on node_filesystem_avail_bytes" not in answer  # reasoning left out
    assert "/images/" not in answer
    assert "Rate limit reached" not in conversation["messages"][3]["text"]
    assert read.tool_calls == 2
    assert read.parts_skipped == 3  # think, image_url, error
    assert read.skipped_empty == 1  # a step that only called a tool
    assert len(conversation["messages"]) == 4


def test_non_ascii_text_is_kept_as_is() -> None:
    [conversation] = read_export(FIXTURES / "ceph-nfs-storage.json").conversations
    texts = [m["text"] for m in conversation["messages"]]
    assert "我们的 Ceph 集群" in texts[0] and "😱" in texts[0]
    assert texts[2].startswith("OSD は復旧しました 🎉")


def test_an_array_of_exports_and_the_batch_format_are_read(tmp_path: Path) -> None:
    bulk = read_export(FIXTURES / "bulk" / "2026-04-exports.json").conversations
    assert [c["title"] for c in bulk] == [
        "cert-manager certificate stuck not ready",
        "etcd mvcc: database space exceeded",
    ]
    batch = read_export(FIXTURES / "batch" / "loki-notes-batch.json")
    [conversation] = batch.conversations
    assert [m["id"] for m in conversation["messages"]] == ["loki-1", "loki-2"]
    assert conversation["messages"][1]["created_at"] == "2026-03-03T09:00:20.000Z"
    assert batch.skipped_empty == 1


def test_roles_from_is_created_by_user_and_a_system_sender(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        export(
            message("m1", user=True),
            message("m2"),
            message("m3", sender="system"),
            message("m4", sender="System", isCreatedByUser=False),
        ),
    )
    roles = [m["role"] for m in read_export(path).conversations[0]["messages"]]
    assert roles == ["user", "assistant", "system", "system"]


def test_created_at_falls_back_to_the_conversation_then_the_file_time(tmp_path: Path) -> None:
    undated = message("m1")
    del undated["createdAt"]
    data = {**export(undated), "exportAt": "14:02:11 GMT+0200 (CEST)"}
    path = write(tmp_path, data)
    os.utime(path, (1_700_000_000, 1_700_000_000))
    assert read_export(path).conversations[0]["messages"][0]["created_at"] == (
        "2023-11-14T22:13:20.000Z"
    )
    data["options"] = {"updatedAt": "2026-04-02T08:00:00+02:00"}
    path = write(tmp_path, data)
    assert read_export(path).conversations[0]["messages"][0]["created_at"] == (
        "2026-04-02T06:00:00.000Z"
    )


def test_text_is_used_when_content_has_no_text_part(tmp_path: Path) -> None:
    path = write(tmp_path, export(message("m1", text="plain", content=[{"type": "think"}])))
    assert read_export(path).conversations[0]["messages"][0]["text"] == "plain"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"conversationId": "c1", "messages": [', "invalid JSON"),
        ("42", "expected a JSON object, got int"),
        ('{"title": "no id", "messages": []}', "missing conversationId"),
        ('{"conversationId": "c1", "messages": {"a": 1}}', "a list in messages or messagesTree"),
        ('{"conversationId": "c1", "messages": [{"text": "hi"}]}', "message 0: missing messageId"),
        ('{"conversationId": "c1", "messages": ["hi"]}', "message 0: expected an object"),
        ('[{"conversationId": "c1", "messages": []}, {}]', "item 1: missing conversationId"),
        ('{"source": "librechat", "conversations": [{"id": ""}]}', "not a valid chat batch"),
    ],
)
def test_a_malformed_file_is_an_error_naming_its_path(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ExportError) as caught:
        read_export(path)
    assert caught.value.path == path
    assert problem in str(caught.value) and str(path) in str(caught.value)


def test_an_unreadable_file_is_an_export_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="cannot read"):
        read_export(tmp_path / "missing.json")


def test_a_folder_is_read_recursively_sorted_json_only(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("z.json", "a.json", "b/m.json", "notes.txt"):
        (tmp_path / name).write_text("{}")
    names = [p.relative_to(tmp_path).as_posix() for p in find_exports(tmp_path)]
    assert names == ["a.json", "b/m.json", "z.json"]
    assert find_exports(tmp_path / "a.json") == [tmp_path / "a.json"]
    assert len(find_exports(BROKEN)) == 4
