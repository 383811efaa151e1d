"""LibreChat conversation exports read into the `/v1/chats` conversation shape.

LibreChat's JSON export is one conversation per file: `conversationId`, `endpoint`, `title`,
`exportAt` and either a flat `messages` list or, exported recursively, a `messagesTree` whose
messages nest in `children`. Also read here: the `/v1/chats` batch body itself, and a JSON array
of LibreChat exports.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

import orjson
from pydantic import ValidationError

from common.chats import ChatBatch
from common.errors import PermanentError

# Conversation titles past this are cut: /v1/chats refuses longer ones, and a title is a label.
_TITLE_MAX = 1000


class Message(TypedDict):
    """One message as `/v1/chats` takes it."""

    id: str
    role: str
    text: str
    created_at: str


class Conversation(TypedDict):
    """One conversation as `/v1/chats` takes it."""

    id: str
    title: str
    messages: list[Message]


class ExportError(PermanentError):
    """A file that is not a readable export; names the path and the problem."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass
class Export:
    """What one file held, with counts of what was left out or summarised."""

    path: Path
    conversations: list[Conversation] = field(default_factory=list)
    skipped_empty: int = 0
    parts_skipped: int = 0
    tool_calls: int = 0


def find_exports(path: Path) -> list[Path]:
    """The file itself, or every `*.json` below a folder, sorted so runs are repeatable."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*.json") if p.is_file())
    return [path]


def read_export(path: Path) -> Export:
    """Parse one file; raise ExportError naming the path for anything malformed."""
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ExportError(path, f"cannot read: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise ExportError(path, f"invalid JSON: {exc}") from None
    export = Export(path)
    fallback = _rfc3339(datetime.fromtimestamp(path.stat().st_mtime, UTC))
    try:
        if isinstance(data, list):
            for index, item in enumerate(data):
                _add(export, item, fallback, where=f"item {index}: ")
        else:
            _add(export, data, fallback, where="")
    except _Malformed as exc:
        raise ExportError(path, str(exc)) from None
    return export


class _Malformed(ValueError):
    """A problem found inside the document; read_export adds the path."""


def _add(export: Export, data: Any, fallback: str, *, where: str) -> None:
    if not isinstance(data, dict):
        raise _Malformed(f"{where}expected a JSON object, got {type(data).__name__}")
    try:
        if "conversations" in data and "source" in data:
            _add_batch(export, data)
        else:
            _add_librechat(export, data, fallback)
    except _Malformed as exc:
        raise _Malformed(f"{where}{exc}") from None


def _add_batch(export: Export, data: dict[str, Any]) -> None:
    try:
        batch = ChatBatch.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise _Malformed(f"not a valid chat batch: {loc}: {first['msg']}") from None
    for conv in batch.conversations:
        messages = [
            Message(id=m.id, role=m.role, text=m.text, created_at=_rfc3339(m.created_at))
            for m in conv.messages
        ]
        _append(export, Conversation(id=conv.id, title=conv.title, messages=messages))


def _add_librechat(export: Export, data: dict[str, Any], fallback: str) -> None:
    conversation_id = data.get("conversationId")
    if not isinstance(conversation_id, str) or not conversation_id:
        raise _Malformed("missing conversationId")
    roots = data.get("messagesTree", data.get("messages"))
    if not isinstance(roots, list):
        raise _Malformed("expected a list in messages or messagesTree")
    default_time = _first_time(data, data.get("options"), fallback=fallback)
    messages: list[Message] = []
    seen: set[str] = set()
    for index, raw in enumerate(_walk(roots)):
        message = _message(export, raw, index=index, default_time=default_time)
        if message["id"] not in seen:
            seen.add(message["id"])
            messages.append(message)
    title = data.get("title")
    title = title[:_TITLE_MAX] if isinstance(title, str) else ""
    _append(export, Conversation(id=conversation_id, title=title, messages=messages))


def _append(export: Export, conversation: Conversation) -> None:
    kept = [m for m in conversation["messages"] if m["text"].strip()]
    export.skipped_empty += len(conversation["messages"]) - len(kept)
    export.conversations.append(Conversation(**{**conversation, "messages": kept}))


def _walk(nodes: list[Any]) -> Iterator[Any]:
    """Depth first through `children`: a flat list walks as is, a tree with every branch."""
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        if node is None:  # LibreChat's own exporter skips holes in its message lists
            continue
        yield node
        children = node.get("children") if isinstance(node, dict) else None
        if isinstance(children, list):
            stack.extend(reversed(children))


def _message(export: Export, raw: Any, *, index: int, default_time: str) -> Message:
    if not isinstance(raw, dict):
        raise _Malformed(f"message {index}: expected an object, got {type(raw).__name__}")
    message_id = raw.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        raise _Malformed(f"message {index}: missing messageId")
    text = _content_text(export, raw.get("content"))
    if not text.strip() and isinstance(raw.get("text"), str):
        text = raw["text"]
    return Message(
        id=message_id,
        role=_role(raw),
        text=text,
        created_at=_first_time(raw, fallback=default_time),
    )


def _role(raw: dict[str, Any]) -> str:
    if raw.get("isCreatedByUser") is True:
        return "user"
    sender = raw.get("sender")
    return "system" if isinstance(sender, str) and sender.lower() == "system" else "assistant"


def _content_text(export: Export, content: Any) -> str:
    """Agent messages: text parts joined by blank lines, a line per tool call, the rest left."""
    if not isinstance(content, list):
        return ""
    pieces: list[str] = []
    words = False
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            value = part.get("text")
            value = value.get("value") if isinstance(value, dict) else value
            if isinstance(value, str) and value.strip():
                pieces.append(value)
                words = True
        elif kind == "tool_call":
            export.tool_calls += 1
            pieces.append(f"[tool call: {_tool_name(part.get('tool_call'))}]")
        elif part is not None:
            # think (reasoning), image_url, image_file, error and unknown parts: not searchable
            export.parts_skipped += 1
    # A message of tool calls alone has no words a search could use: it counts as empty.
    return "\n\n".join(pieces) if words else ""


def _tool_name(call: Any) -> str:
    if not isinstance(call, dict):
        return "unknown"
    function = call.get("function")
    name = call.get("name") or (function.get("name") if isinstance(function, dict) else None)
    return str(name or call.get("type") or "unknown")


def _first_time(*sources: Any, fallback: str) -> str:
    """The first parseable createdAt/updatedAt/exportAt, as RFC 3339 UTC."""
    for source in sources:
        if not isinstance(source, dict):
            continue
        for name in ("createdAt", "updatedAt", "exportAt"):
            value = source.get(name)
            if isinstance(value, dict):  # mongoexport writes {"$date": "..."}
                value = value.get("$date")
            parsed = _parse_time(value)
            if parsed is not None:
                return _rfc3339(parsed)
    return fallback


def _parse_time(value: Any) -> datetime | None:
    # LibreChat writes exportAt with Date.toTimeString() ("14:02:11 GMT+0200 (...)"): no date,
    # so it fails here and the next candidate is used.
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
