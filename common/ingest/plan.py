"""Turning conversations into posts the gateway takes: bounded in messages and bytes.

The gateway cuts long texts into embedding-sized chunks itself; what the client bounds is the
HTTP body. A message longer than the part limit is sent as several messages `<id>#p1`, `#p2`...
so nothing is truncated and no post comes near the gateway's body limit.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import orjson

from common.chunking import split_text
from common.ingest.librechat import Conversation, Message

# JSON around the conversations list and around each conversation's messages, estimated high.
_BODY_OVERHEAD = 64
_CONVERSATION_OVERHEAD = 48


@dataclass(frozen=True)
class Limits:
    """Bounds of one post and of one message's text."""

    batch_messages: int = 64
    batch_bytes: int = 1_048_576
    part_chars: int = 262_144


@dataclass
class Post:
    """One `/v1/chats` body, its estimated size and how many messages it carries."""

    conversations: list[Conversation] = field(default_factory=list)
    size: int = _BODY_OVERHEAD
    messages: int = 0

    def body(self, source: str) -> bytes:
        """The JSON body for `source`."""
        return orjson.dumps({"source": source, "conversations": self.conversations})

    def conversation_ids(self) -> list[str]:
        """The conversations this post carries (some maybe only in part)."""
        return [c["id"] for c in self.conversations]


def split_parts(conversation: Conversation, part_chars: int) -> tuple[Conversation, int]:
    """The conversation with each over-long message split into parts; how many parts were made."""
    messages: list[Message] = []
    parts = 0
    for message in conversation["messages"]:
        if len(message["text"]) <= part_chars:
            messages.append(message)
            continue
        pieces = split_text(message["text"], max_chars=part_chars)
        parts += len(pieces)
        messages += [
            Message(**{**message, "id": f"{message['id']}#p{n}", "text": text})
            for n, text in enumerate(pieces, start=1)
        ]
    return Conversation(**{**conversation, "messages": messages}), parts


def pack(conversations: Iterable[Conversation], limits: Limits) -> Iterator[Post]:
    """Posts in input order, each within the limits (one oversized message goes alone)."""
    post = Post()
    for conversation in conversations:
        current: Conversation | None = None
        header = _CONVERSATION_OVERHEAD + len(
            orjson.dumps([conversation["id"], conversation["title"]])
        )
        for message in conversation["messages"]:
            size = len(orjson.dumps(message)) + 1
            if post.messages and (
                post.messages >= limits.batch_messages
                or post.size + size + (header if current is None else 0) > limits.batch_bytes
            ):
                yield post
                post, current = Post(), None
            if current is None:
                current = Conversation(
                    id=conversation["id"], title=conversation["title"], messages=[]
                )
                post.conversations.append(current)
                post.size += header
            current["messages"].append(message)
            post.size += size
            post.messages += 1
    if post.messages:
        yield post
