"""Recall's contract: what the gateway asks the store worker, and the incident-shaped answers.

The gateway validates a request and sends one of the `*Ask` models on the store queue (task
`cortex.recall`); the store worker, which owns Qdrant, answers with a `RecallReply`. The answer
models are also the HTTP API's documented response bodies, so the OpenAPI schema, the store
worker and the clients (CLI, MCP) read one definition.

Every answer is bounded: at most `limit` entries per section (50 at most) and texts cut with
`CUT_MARKER` at the lengths below, so a recall at the default limit of 10 is at most about
43 KB of JSON (210 KB at 50) and fits an assistant's context; `truncated` says when anything
was left out or cut.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from common.points import Fusion

CUT_MARKER = "… [cut]"
SUMMARY_CHARS = 200
CHUNK_CHARS = 1000
NEIGHBOUR_CHARS = 500
TITLE_CHARS = 200
# `GET /v1/conversations/{id}`: an assistant reads a whole conversation, within these bounds.
MESSAGE_CHARS = 4000
MAX_MESSAGES = 200
MAX_LIMIT = 50
DEFAULT_LIMIT = 10
DEFAULT_WINDOW_S = 900
MAX_WINDOW_S = 7 * 86400

Label = Literal["new", "rare", "frequent"]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]


class Occurrence(BaseModel):
    """One stored alert occurrence: which alert (its identity), when, and how it ended."""

    fingerprint: str
    alertname: str
    namespace: str | None
    workload: str | None
    severity: str | None = None
    summary: str = ""
    startsAt: str
    endsAt: str | None
    status: str
    duration_s: float | None = Field(description="endsAt - startsAt; null while firing")


class Before(BaseModel):
    """This alert before: its occurrences (newest first), how often, how long, and a label.

    Counts and the label look back from the recalled occurrence's start (from now for
    `/v1/alerts/history`): "new" when no earlier occurrence is stored, "frequent" at 5 or
    more in the last 30 days, "rare" otherwise; null for a free-text recall.
    """

    occurrences: list[Occurrence]
    last_7d: int
    last_30d: int
    typical_duration_s: float | None = Field(description="median duration of resolved ones")
    label: Label | None


class SimilarGroup(BaseModel):
    """Other alerts like this one, one group per alert identity, with its latest occurrence."""

    alertname: str
    namespace: str | None
    workload: str | None
    count: int = Field(description="occurrences of this identity stored (within `since`)")
    latest: Occurrence
    score: float


class Said(BaseModel):
    """What was said: one conversation, its best-matching chunk and the texts around it."""

    conversation_id: str
    title: str
    created_at: str
    score: float
    role: str = ""
    chunk: str
    neighbours: list[str] = Field(description="the texts just before and after, 'role: text'")


class RecallAnswer(BaseModel):
    """An incident-shaped answer for an alert (fingerprint, Alertmanager alert, labels) or text."""

    query: dict[str, Any]
    alert: Occurrence | None = Field(description="the occurrence recalled; null for free text")
    before: Before
    around: list[Occurrence] = Field(description="other alerts starting near it, by time")
    similar: list[SimilarGroup]
    discussed: list[Said] = Field(description="chat messages about it, grouped per conversation")
    truncated: bool


class Message(BaseModel):
    """One chat message of a conversation, its chunks joined."""

    message_id: str
    role: str
    created_at: str
    text: str


class Conversation(BaseModel):
    """A stored conversation, its messages in order."""

    conversation_id: str
    title: str
    messages: list[Message]
    truncated: bool


class _Ask(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    expires_at: float


class RecallAsk(_Ask):
    """Recall for exactly one target: a stored point (a posted alert's occurrence id, with its
    payload in case it is not stored yet), a fingerprint, an identity, or a text.

    `vector` is the embedding of `text` (free text), or of a posted alert that is not stored;
    the store answers `needs_vector` for such an alert asked without one.
    """

    op: Literal["recall"] = "recall"
    point_id: str | None = None
    payload: dict[str, Any] | None = None
    fingerprint: str | None = None
    alertname: str | None = None
    workload: str | None = None
    text: str | None = None
    vector: list[float] | None = None
    fusion: Fusion = "boost"
    since: str | None = None
    namespace: str | None = None
    limit: Limit = DEFAULT_LIMIT
    window_s: Annotated[int, Field(ge=0, le=MAX_WINDOW_S)] = DEFAULT_WINDOW_S


class HistoryAsk(_Ask):
    """The `Before` of one identity; a field left out matches any value."""

    op: Literal["history"] = "history"
    alertname: str
    namespace: str | None = None
    workload: str | None = None
    since: str | None = None
    limit: Limit = DEFAULT_LIMIT


class ConversationAsk(_Ask):
    """One conversation's messages."""

    op: Literal["conversation"] = "conversation"
    conversation_id: str


Ask = Annotated[RecallAsk | HistoryAsk | ConversationAsk, Field(discriminator="op")]


class RecallReply(BaseModel):
    """The store's reply: exactly one of answer, not_found, needs_vector or error."""

    answer: dict[str, Any] | None = None
    not_found: str | None = None
    needs_vector: bool = False
    error: str | None = None
