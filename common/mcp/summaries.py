"""The gateway's JSON answers as short text an assistant reads before the structured copy.

Every tool result carries both: this text (what most chat front-ends show the model) and the
JSON itself as structured content. The text is bounded: long chat texts are cut with a marker,
so a result fits an assistant's context whatever is stored.
"""

from collections.abc import Iterable
from typing import Any

JSON = dict[str, Any]
# Characters of one chat text or summary in a line; the structured content has the rest.
_TEXT_CHARS = 300
# A conversation asked for by id is read for its content: its messages are cut much later.
_MESSAGE_CHARS = 2000
_CUT = " [...]"


def _cut(text: object, limit: int = _TEXT_CHARS) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - len(_CUT)] + _CUT


def _where(labels: JSON) -> str:
    """namespace/workload (or pod) of an alert, as an SRE would name it."""
    namespace = labels.get("namespace") or "-"
    workload = (
        labels.get("workload") or labels.get("deployment") or labels.get("statefulset")
        or labels.get("daemonset") or labels.get("pod") or labels.get("instance") or "-"
    )  # fmt: skip
    return f"{namespace}/{workload}"


def _duration(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return "ongoing"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def alert_line(alert: JSON) -> str:
    """One alert occurrence: name, where, status, when, how long, summary."""
    labels = alert.get("labels") or {}
    name = alert.get("alertname") or labels.get("alertname", "?")
    when = alert.get("startsAt") or alert.get("starts_at") or "?"
    ended = alert.get("endsAt") or alert.get("ends_at")
    span = f", {_duration(alert['duration_s'])}" if "duration_s" in alert else ""
    until = f" until {ended}" if ended else ""
    summary = _cut(alert.get("summary"))
    return f"{name} {_where(labels)} [{alert.get('status', '?')}] {when}{until}{span}: {summary}"


def chat_line(chat: JSON) -> str:
    """One chat message or chunk: conversation title, role, time, text (cut)."""
    title = chat.get("title") or chat.get("conversation_id", "?")
    return (
        f'"{title}" {chat.get("role", "?")} {chat.get("created_at", "")}: {_cut(chat.get("text"))}'
    )


def search_text(answer: JSON) -> str:
    """GET /v1/search's results, best first, with their scores."""
    hits = answer.get("results") or []
    if not hits:
        return f"No stored alert or chat matches {answer.get('query')!r}."
    lines = [f"{len(hits)} matches for {answer.get('query')!r}, best first:"]
    for hit in hits:
        payload = hit.get("payload") or {}
        line = alert_line(payload) if hit.get("kind") == "alert" else chat_line(payload)
        lines.append(f"- {hit.get('score', 0):.3f} {hit.get('kind')}: {line}")
    return "\n".join(lines)


def _section(title: str, rows: Iterable[str], empty: str) -> list[str]:
    rows = list(rows)
    return [f"{title}:", *(f"- {row}" for row in rows)] if rows else [f"{title}: {empty}"]


def _before(before: JSON) -> list[str]:
    typical = before.get("typical_duration_s")
    head = (
        f"This alert before ({before.get('label', '?')}): {before.get('last_7d', 0)} in the last"
        f" 7 days, {before.get('last_30d', 0)} in 30, typical duration "
        f"{_duration(typical) if typical is not None else 'unknown'}"
    )
    return [head, *(f"- {alert_line(o)}" for o in before.get("occurrences") or [])]


def _similar_line(group: JSON) -> str:
    where = f"{group.get('namespace') or '-'}/{group.get('workload') or '-'}"
    latest = group.get("latest") or {}
    when = latest.get("startsAt", "?") if isinstance(latest, dict) else latest
    return f"{group.get('alertname')} {where}: {group.get('count', 1)} times, latest {when}"


def _said_line(said: JSON) -> str:
    chunk = said.get("chunk") or {}
    text = chunk.get("text") if isinstance(chunk, dict) else chunk
    where = f"{said.get('created_at', '?')}, conversation_id {said.get('conversation_id')}"
    return f'"{said.get("title")}" ({where}): {_cut(text)}'


def recall_text(answer: JSON) -> str:
    """GET/POST /v1/recall: the incident card, section by section."""
    alert = answer.get("alert")
    lines = [f"Recall for {alert_line(alert) if alert else repr(answer.get('query'))}"]
    lines += _before(answer.get("before") or {})
    lines += _section("Around it", (alert_line(a) for a in answer.get("around") or []), "nothing")
    lines += _section("Similar elsewhere", map(_similar_line, answer.get("similar") or []), "none")
    lines += _section("What was said", map(_said_line, answer.get("said") or []), "nothing")
    if answer.get("truncated"):
        lines.append("(cut to fit: ask with a narrower filter or a smaller limit for the rest)")
    return "\n".join(lines)


def history_text(answer: JSON) -> str:
    """GET /v1/alerts/history: counts, then each occurrence, newest first as the gateway sends."""
    before = answer.get("before")
    return "\n".join(_before(before if isinstance(before, dict) else answer))


def conversation_text(answer: JSON) -> str:
    """GET /v1/conversations/{id}: the title, then each message in order (texts cut)."""
    messages = answer.get("messages") or []
    head = f'Conversation "{answer.get("title")}" ({answer.get("conversation_id")}), '
    lines = [head + f"{len(messages)} messages:"]
    for message in messages:
        text = _cut(message.get("text"), _MESSAGE_CHARS)
        lines.append(f"- {message.get('role', '?')} {message.get('created_at', '')}: {text}")
    return "\n".join(lines)
