"""The text each item is embedded as; alert status is left out, so resolving needs no embedding."""

from common.items import AlertItem, ChatItem

_PLACE_LABELS = ("namespace", "pod", "container", "job", "service", "instance", "node")


def alert_text(item: AlertItem) -> str:
    """Describe an alert occurrence: what fired, where, and what its annotations say."""
    place = ", ".join(f"{k}={item.labels[k]}" for k in _PLACE_LABELS if item.labels.get(k))
    other = ", ".join(
        f"{k}={v}"
        for k, v in sorted(item.labels.items())
        if k not in _PLACE_LABELS and k not in ("alertname", "severity")
    )
    lines = [f"Alert {item.alertname} (severity {item.severity or 'unknown'}) at {place or '-'}"]
    for name in ("summary", "description", "message"):
        if item.annotations.get(name):
            lines.append(item.annotations[name])
    if other:
        lines.append(f"Labels: {other}")
    lines.append(f"Started {item.starts_at}")
    return "\n".join(lines)


def chat_text(item: ChatItem) -> str:
    """A chat message with the context a search needs: conversation title, role and time."""
    title = item.title or "untitled conversation"
    part = f" (part {item.chunk + 1} of {item.chunks})" if item.chunks > 1 else ""
    return f"Conversation: {title}\n{item.role} at {item.created_at}{part}:\n{item.text}"
