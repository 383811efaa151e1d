"""What the gateway already has, asked of the gateway itself: the client keeps no checkpoint.

The gateway remembers, per message, the content hash it last accepted (its dedup state); a run
asks `/v1/chats/known` about every message it read and sends the rest. The answer comes from
the deployment the posts go to, so a checkpoint can never belong to another one. Whatever the
gateway cannot confirm (a fresh deployment, an expired entry, a lookup that failed) is sent,
and the gateway's dedup answers for what it did have.
"""

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple

import orjson

from common.ingest.client import DeadlineReached, Gateway, GatewayFailed
from common.ingest.deadline import Deadline
from common.ingest.librechat import Conversation, Message

_SEP = "\x1f"
# Per lookup: well inside the gateway's bounds (1000 messages, CORTEX_MAX_BODY_BYTES).
LOOKUP_MESSAGES = 500
LOOKUP_BYTES = 65_536


class Entry(NamedTuple):
    """One message as a lookup names it (a part's id for a split message)."""

    conversation_id: str
    message_id: str
    content_hash: str


def content_hash(message: Message) -> str:
    """sha256 of role and text, as the gateway computes it: an edit changes it."""
    return hashlib.sha256(f"{message['role']}{_SEP}{message['text']}".encode()).hexdigest()[:16]


def lookups(source: str, entries: Iterable[Entry]) -> Iterator[tuple[bytes, int]]:
    """`/v1/chats/known` bodies over the entries in order, each within the bounds, with counts."""
    head = b'{"source":' + orjson.dumps(source) + b',"messages":['
    batch: list[bytes] = []
    size = len(head)
    for entry in entries:
        item = orjson.dumps(entry._asdict())
        if batch and (len(batch) >= LOOKUP_MESSAGES or size + len(item) + 3 > LOOKUP_BYTES):
            yield head + b",".join(batch) + b"]}", len(batch)
            batch, size = [], len(head)
        batch.append(item)
        size += len(item) + 1
    if batch:
        yield head + b",".join(batch) + b"]}", len(batch)


class Checkpoint:
    """What the gateway holds of one source, asked in bounded lookups.

    With `stop_at_deadline` (a real run) the deadline stops the run; without it (a dry run)
    an unanswered lookup counts as "nothing held", like any other failed lookup.
    """

    def __init__(
        self,
        gateway: Gateway,
        source: str,
        *,
        deadline: Deadline,
        notify: Callable[[str], None],
        stop_at_deadline: bool = True,
    ) -> None:
        self.gateway = gateway
        self.source = source
        self.deadline = deadline
        self.notify = notify
        self.stop_at_deadline = stop_at_deadline
        self.failed = False

    def known(self, entries: Sequence[Entry]) -> list[bool]:
        """Per entry, whether the gateway holds it with that content hash; False if unsure."""
        answers: list[bool] = []
        for body, count in lookups(self.source, entries):
            answers += self._ask(body, count)
        return answers

    def _ask(self, body: bytes, count: int) -> list[bool]:
        # After one failed lookup the rest are not asked: each would fail the same way.
        if self.failed:
            return [False] * count
        try:
            reply = self.gateway.ask(body, deadline=self.deadline)
        except DeadlineReached as exc:
            if self.stop_at_deadline:
                raise
            problem = f"no answer: {exc}"
        except GatewayFailed as exc:
            problem = str(exc)
        else:
            known = reply.body.get("known") if reply.ok and isinstance(reply.body, dict) else None
            if isinstance(known, list) and len(known) == count:
                return [k is True for k in known]
            problem = f"answered {reply.status}: {str(reply.body)[:200]}"
        self.failed = True
        self.notify(
            f"warning: could not ask the gateway which messages it already has ({problem}); "
            "planning as if it had none"
        )
        return [False] * count

    def unsent(self, conversations: Iterable[Conversation]) -> tuple[list[Conversation], int]:
        """Conversations cut to the messages the gateway lacks, and how many it already had.

        A message met twice in one run with the same content (a conversation exported twice)
        is asked about and sent once.
        """
        conversations = list(conversations)
        entries = [
            Entry(c["id"], m["id"], content_hash(m)) for c in conversations for m in c["messages"]
        ]
        unique = list(dict.fromkeys(entries))
        sent = {e for e, held in zip(unique, self.known(unique), strict=True) if held}
        position = iter(entries)
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
