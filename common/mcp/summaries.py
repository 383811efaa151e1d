"""The gateway's JSON answers as short text an assistant reads beside the structured copy.

Every tool result carries both: this text (what most chat front-ends hand the model) and the
JSON itself as structured content. The text is bounded: one line per match, occurrence or
conversation, long texts cut with a marker, so a result fits an assistant's context whatever
is stored. The passages that may hold a fix (what was said, a conversation's messages) keep
most of their length; summaries of alerts keep a line.
"""

from collections.abc import Iterable
from typing import Any

from common.recall import CUT_MARKER

JSON = dict[str, Any]
# The same marker as the gateway's own cuts, so an assistant learns one.
CUT = " " + CUT_MARKER
# Characters kept of an alert's summary or a search hit's text in its line.
LINE_CHARS = 300
# Of the best passage of a conversation in a recall, and of the texts around it.
PASSAGE_CHARS = 1000
# Of each message of a conversation read whole (get_conversation).
MESSAGE_CHARS = 2000


def cut(text: object, limit: int) -> str:
    """The text on one line, at most `limit` characters, marked where it was cut."""
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - len(CUT)] + CUT


def duration(seconds: object) -> str:
    """A duration an SRE reads at a glance: 4m05s, 2h10m; "firing" while there is none."""
    if not isinstance(seconds, int | float):
        return "firing"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _where(alert: JSON) -> str:
    """namespace/workload of an alert: recall's own fields, or a search hit's labels."""
    labels = alert.get("labels") or {}
    namespace = alert.get("namespace") or labels.get("namespace") or "-"
    workload = alert.get("workload") or next(
        (labels[k] for k in ("deployment", "statefulset", "daemonset", "pod", "instance")
         if labels.get(k)), "-",
    )  # fmt: skip
    return f"{namespace}/{workload}"


def alert_line(alert: JSON) -> str:
    """One alert occurrence: name, where, status, start, end, duration, summary."""
    until = f" until {alert['endsAt']}" if alert.get("endsAt") else ""
    lasted = f", {duration(alert['duration_s'])}" if "duration_s" in alert else ""
    summary = cut(alert.get("summary"), LINE_CHARS)
    return (
        f"{alert.get('alertname', '?')} {_where(alert)} [{alert.get('status', '?')}] "
        f"{alert.get('startsAt', '?')}{until}{lasted}: {summary}"
    )


def chat_line(chat: JSON) -> str:
    """One chat message or chunk: its conversation's title and id, role, time, text."""
    head = f'"{chat.get("title", "")}" (conversation_id {chat.get("conversation_id")})'
    said = cut(chat.get("text"), LINE_CHARS)
    return f"{head} {chat.get('role', '?')} {chat.get('created_at', '')}: {said}"


def search_text(answer: JSON) -> str:
    """GET /v1/search: the matches, best first, with their scores."""
    hits = answer.get("results") or []
    if not hits:
        return f"Nothing stored matches {answer.get('query')!r}."
    lines = [f"{len(hits)} matches for {answer.get('query')!r}, best first:"]
    for hit in hits:
        payload = hit.get("payload") or {}
        line = alert_line(payload) if hit.get("kind") == "alert" else chat_line(payload)
        lines.append(f"- {hit.get('score', 0):.3f} {hit.get('kind')}: {line}")
    return "\n".join(lines)


def _section(title: str, rows: Iterable[str], empty: str) -> list[str]:
    listed = list(rows)
    return [f"{title}:", *listed] if listed else [f"{title}: {empty}."]


def before_lines(before: JSON) -> list[str]:
    """This alert before: how often and how long, then each occurrence, newest first."""
    label = f" ({before['label']})" if before.get("label") else ""
    typical = before.get("typical_duration_s")
    head = (
        f"This alert before{label}: {before.get('last_7d', 0)} in the last 7 days, "
        f"{before.get('last_30d', 0)} in 30; typical duration "
        f"{duration(typical) if typical is not None else 'unknown'}."
    )
    return [head, *(f"- {alert_line(o)}" for o in before.get("occurrences") or [])]


def _similar(group: JSON) -> str:
    where = f"{group.get('namespace') or '-'}/{group.get('workload') or '-'}"
    latest = group.get("latest") or {}
    return (
        f"- {group.get('alertname')} {where}: {group.get('count', 1)} times, latest "
        f"{latest.get('startsAt', '?')} [{latest.get('status', '?')}]: "
        f"{cut(latest.get('summary'), LINE_CHARS)}"
    )


def _said(said: JSON) -> str:
    head = (
        f'- "{said.get("title")}" ({said.get("created_at")}, conversation_id '
        f"{said.get('conversation_id')}, score {said.get('score', 0):.3f})"
    )
    best = f"  {said.get('role') or 'said'}: {cut(said.get('chunk'), PASSAGE_CHARS)}"
    around = [f"  around it, {cut(n, PASSAGE_CHARS)}" for n in said.get("neighbours") or []]
    return "\n".join([head, best, *around])


def recall_text(answer: JSON) -> str:
    """GET/POST /v1/recall: the incident card, section by section."""
    alert = answer.get("alert")
    lines = [f"Recall for {alert_line(alert) if alert else answer.get('query')}"]
    lines += before_lines(answer.get("before") or {})
    around = (f"- {alert_line(a)}" for a in answer.get("around") or [])
    lines += _section("Around it", around, "nothing else started near it")
    lines += _section("Similar elsewhere", map(_similar, answer.get("similar") or []), "none")
    lines += _section("What was said", map(_said, answer.get("discussed") or []), "nothing stored")
    if answer.get("truncated"):
        lines.append("(Cut to fit: narrow it with since, namespace or a smaller limit.)")
    return "\n".join(lines)


def history_text(answer: JSON) -> str:
    """GET /v1/alerts/history: the alert's `before`."""
    return "\n".join(before_lines(answer))


def conversation_text(answer: JSON) -> str:
    """GET /v1/conversations/{id}: the title, then each message in order."""
    messages = answer.get("messages") or []
    lines = [
        f'Conversation "{answer.get("title")}" (conversation_id {answer.get("conversation_id")}),'
        f" {len(messages)} messages:"
    ]
    for message in messages:
        text = cut(message.get("text"), MESSAGE_CHARS)
        lines.append(f"- {message.get('role', '?')} {message.get('created_at', '')}: {text}")
    if answer.get("truncated"):
        lines.append("(Cut to fit: long messages end with a marker, and some may be left out.)")
    return "\n".join(lines)
