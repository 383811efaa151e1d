"""The labelled recall set: alerts, conversations and questions, read from `data/*.json`.

Every item has a readable id ("alert:minio-crashloop", "chat:pihole-port53") that questions
name as relevant. What the product stores carries none of them: an alert goes out with a
fingerprint derived from its id, a conversation with a uuid5 of it, so a search hit maps back
to the id while nothing of the label leaks into the embedded or indexed text.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

DATA = Path(__file__).parent / "data"
Kind = Literal["paraphrase", "identifier", "fix", "both"]
KINDS: tuple[Kind, ...] = ("paraphrase", "identifier", "fix", "both")
_CONVERSATION_NAMESPACE = uuid.UUID("0d7c5a52-5b8e-4f7a-9c61-3e2f1b8a4d90")


@dataclass(frozen=True)
class AlertCase:
    """One past incident as Alertmanager reported it."""

    id: str
    starts_at: str
    labels: dict[str, str]
    annotations: dict[str, str]

    @property
    def doc_id(self) -> str:
        """The id questions name it by."""
        return f"alert:{self.id}"

    @property
    def fingerprint(self) -> str:
        """A stable 16-hex fingerprint, as Alertmanager's (a hash, not the readable id)."""
        return hashlib.blake2b(self.id.encode(), digest_size=8).hexdigest()

    def text(self) -> str:
        """Every label value and annotation, for the set's own checks."""
        return "\n".join([*self.labels.values(), *self.annotations.values()])


@dataclass(frozen=True)
class ChatLine:
    """One message of a conversation."""

    role: str
    text: str


@dataclass(frozen=True)
class ChatCase:
    """One debugging conversation (LibreChat), usually holding a resolution."""

    id: str
    title: str
    started_at: str
    messages: tuple[ChatLine, ...]

    @property
    def doc_id(self) -> str:
        """The id questions name it by."""
        return f"chat:{self.id}"

    @property
    def conversation_id(self) -> str:
        """What LibreChat would send: a uuid, stable per conversation."""
        return str(uuid.uuid5(_CONVERSATION_NAMESPACE, self.id))

    def text(self) -> str:
        """Title and every message, for the set's own checks."""
        return "\n".join([self.title, *(m.text for m in self.messages)])


@dataclass(frozen=True)
class Question:
    """A question an SRE asks and the items that answer it."""

    kind: Kind
    text: str
    relevant: tuple[str, ...]
    identifier: str | None = None


@dataclass(frozen=True)
class RecallSet:
    """The whole labelled set."""

    alerts: tuple[AlertCase, ...]
    chats: tuple[ChatCase, ...]
    questions: tuple[Question, ...]

    def documents(self) -> dict[str, AlertCase | ChatCase]:
        """Every item by its doc id."""
        items: list[AlertCase | ChatCase] = [*self.alerts, *self.chats]
        return {item.doc_id: item for item in items}

    def doc_id_of(self) -> dict[tuple[str, str], str]:
        """(kind, stored id) -> doc id: an alert's fingerprint, a chat's conversation id."""
        ids = {("alert", a.fingerprint): a.doc_id for a in self.alerts}
        ids.update({("chat", c.conversation_id): c.doc_id for c in self.chats})
        return ids


def _read(name: str, folder: Path) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], json.loads((folder / name).read_text()))


def _alert(raw: dict[str, Any]) -> AlertCase:
    return AlertCase(raw["id"], raw["startsAt"], dict(raw["labels"]), dict(raw["annotations"]))


def _chat(raw: dict[str, Any]) -> ChatCase:
    lines = tuple(ChatLine(m["role"], m["text"]) for m in raw["messages"])
    return ChatCase(raw["id"], raw["title"], raw["started_at"], lines)


def _question(raw: dict[str, Any]) -> Question:
    return Question(raw["kind"], raw["q"], tuple(raw["relevant"]), raw.get("identifier"))


def load(folder: Path = DATA) -> RecallSet:
    """Read the set from its JSON files (no checks: `bench.recall.checks` does those)."""
    return RecallSet(
        alerts=tuple(map(_alert, _read("alerts.json", folder))),
        chats=tuple(map(_chat, _read("chats.json", folder))),
        questions=tuple(map(_question, _read("questions.json", folder))),
    )
