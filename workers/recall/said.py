"""What was said: chat chunks in conversation order, the best one with its neighbours, and
whole conversations with each message's chunks joined again."""

from collections.abc import Iterable, Sequence
from typing import Any

from common.recall import (
    CHUNK_CHARS,
    MAX_MESSAGES,
    MESSAGE_CHARS,
    NEIGHBOUR_CHARS,
    TITLE_CHARS,
    Conversation,
    Message,
    Said,
)
from workers.recall.memory import Like, Memory, Record
from workers.recall.occurrence import Cuts

# Chunks read to place the best ones among their neighbours, and of one conversation.
CHUNK_CAP = 2000


def _order(record: Record) -> tuple[str, str, int]:
    p = record.payload
    return str(p.get("created_at") or ""), str(p.get("message_id") or ""), int(p.get("chunk") or 0)


def threads(records: Iterable[Record]) -> dict[str, list[Record]]:
    """Chunks per conversation, in order: by message time, then message, then chunk."""
    by_conversation: dict[str, list[Record]] = {}
    for record in sorted(records, key=_order):
        by_conversation.setdefault(str(record.payload.get("conversation_id")), []).append(record)
    return by_conversation


def _spoken(payload: dict[str, Any], cuts: Cuts) -> str:
    return f"{payload.get('role')}: " + cuts.cut(str(payload.get("text") or ""), NEIGHBOUR_CHARS)


def _said(best: Record, thread: Sequence[Record], cuts: Cuts) -> Said:
    """One conversation's entry: its best chunk and the chunk just before and after it."""
    ids = [r.id for r in thread]
    at = ids.index(best.id) if best.id in ids else -1
    around = [thread[i] for i in (at - 1, at + 1) if at >= 0 and 0 <= i < len(thread)]
    p = best.payload
    return Said(
        conversation_id=str(p.get("conversation_id")),
        title=cuts.cut(str(p.get("title") or ""), TITLE_CHARS),
        created_at=str(p.get("created_at") or ""),
        score=best.score,
        role=str(p.get("role") or ""),
        chunk=cuts.cut(str(p.get("text") or ""), CHUNK_CHARS),
        neighbours=[_spoken(r.payload, cuts) for r in around],
    )


def said(like: Like, memory: Memory, *, limit: int, since: str | None, cuts: Cuts) -> list[Said]:
    """The `limit` conversations that best match, best first, each with its best chunk."""
    best = memory.best_of_groups(
        like, kind="chat", group_by="conversation_id", groups=limit, since=since
    )
    if not best:
        return []
    ids = [str(r.payload.get("conversation_id")) for r in best]
    chunks = memory.chunks(ids, cap=CHUNK_CAP)
    cuts.note(len(chunks) >= CHUNK_CAP)
    by_conversation = threads(chunks)
    return [_said(r, by_conversation.get(cid, []), cuts) for r, cid in zip(best, ids, strict=True)]


def _overlap(text: str, part: str) -> int:
    """How much of `part`'s start repeats the end of `text` (the chunker's overlap)."""
    for size in range(min(len(text), len(part) - 1), 0, -1):
        if text.endswith(part[:size]):
            return size
    return 0


def join_chunks(parts: Sequence[str]) -> str:
    """A message's text from its chunks, each chunk's overlap with the previous one dropped."""
    text = parts[0] if parts else ""
    for part in parts[1:]:
        text += part[_overlap(text, part) :]
    return text


def _messages(thread: Sequence[Record], cuts: Cuts) -> list[Message]:
    chunks: dict[str, list[Record]] = {}
    for record in thread:
        chunks.setdefault(str(record.payload.get("message_id")), []).append(record)
    messages = []
    for message_id, records in chunks.items():
        first = records[0].payload
        text = join_chunks([str(r.payload.get("text") or "") for r in records])
        messages.append(
            Message(
                message_id=message_id,
                role=str(first.get("role") or ""),
                created_at=str(first.get("created_at") or ""),
                text=cuts.cut(text, MESSAGE_CHARS),
            )
        )
    return messages


def conversation(conversation_id: str, memory: Memory) -> Conversation | None:
    """A stored conversation, its messages in order (at most MAX_MESSAGES); None if unknown."""
    chunks = memory.chunks([conversation_id], cap=CHUNK_CAP)
    thread = threads(chunks).get(conversation_id)
    if not thread:
        return None
    cuts = Cuts()
    messages = _messages(thread, cuts)
    cuts.note(len(chunks) >= CHUNK_CAP or len(messages) > MAX_MESSAGES)
    return Conversation(
        conversation_id=conversation_id,
        title=str(thread[0].payload.get("title") or ""),
        messages=messages[:MAX_MESSAGES],
        truncated=cuts.any,
    )
