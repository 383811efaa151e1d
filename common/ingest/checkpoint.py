"""What the gateway accepted, per source: a Redis hash of message -> content hash.

A message is sent when its hash is absent (new) or different (edited). Entries are written only
after the gateway answered 202 for the post that carried them, so a crashed run resends at most
its last post, which the gateway recognises as duplicates.
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence

import redis
from redis.typing import EncodableT, FieldT

from common import keys
from common.librechat import Conversation, Message

_SEP = "\x1f"
# Fields per HMGET: big enough to need few round trips, small enough not to stall Redis.
_LOOKUP_CHUNK = 1000


def content_hash(message: Message) -> str:
    """sha256 of role and text, as the gateway computes it: an edit changes it."""
    return hashlib.sha256(f"{message['role']}{_SEP}{message['text']}".encode()).hexdigest()[:16]


def field(conversation_id: str, message_id: str) -> str:
    """The hash field of one posted message (a part's id for a split message)."""
    return f"{conversation_id}{_SEP}{message_id}"


class Checkpoint:
    """The checkpoint of one source in Redis (`cortex:ingest:<source>`)."""

    def __init__(self, client: redis.Redis | None, source: str) -> None:
        self.client = client
        self.key = keys.ingest_checkpoint(source)

    def stored(self, fields: Sequence[str]) -> list[str | None]:
        """The recorded hash of each field, None where nothing was recorded."""
        if self.client is None or not fields:
            return [None] * len(fields)
        pipe = self.client.pipeline(transaction=False)
        for start in range(0, len(fields), _LOOKUP_CHUNK):
            pipe.hmget(self.key, list(fields[start : start + _LOOKUP_CHUNK]))
        values = [v for chunk in pipe.execute() for v in chunk]
        return [v.decode() if isinstance(v, bytes) else v for v in values]

    def record(self, entries: Mapping[str, str]) -> None:
        """Record accepted messages; one HSET, so a post is recorded whole or not at all."""
        if self.client is not None and entries:
            mapping: dict[FieldT, EncodableT] = dict(entries.items())
            self.client.hset(self.key, mapping=mapping)

    def unsent(self, conversations: Iterable[Conversation]) -> tuple[list[Conversation], int]:
        """Conversations cut to their new or edited messages, and how many were unchanged.

        A message met twice in one run with the same content (a conversation exported twice)
        is sent once.
        """
        conversations = list(conversations)
        keyed = [
            (field(c["id"], m["id"]), content_hash(m)) for c in conversations for m in c["messages"]
        ]
        recorded = self.stored([f for f, _ in keyed])
        sent: set[tuple[str, str]] = {
            e for e, old in zip(keyed, recorded, strict=True) if e[1] == old
        }
        position = iter(keyed)
        unsent: list[Conversation] = []
        unchanged = 0
        for conversation in conversations:
            kept: list[Message] = []
            for message in conversation["messages"]:
                entry = next(position)
                if entry in sent:
                    unchanged += 1
                    continue
                sent.add(entry)
                kept.append(message)
            if kept:
                unsent.append(Conversation(**{**conversation, "messages": kept}))
        return unsent, unchanged
