"""The queue contract: queue names, task names, priorities. Gateway, workers and CLI share it."""

from enum import StrEnum

CONTRACT_VERSION = 1

# kombu keeps one Redis list per priority bucket; ':' makes them readable (`LLEN alerts:3`).
PRIORITY_SEP = ":"
PRIORITY_STEPS = (0, 3, 6, 9)


class Queue(StrEnum):
    """Celery queues; each has its own workers so bulk work cannot starve alerts."""

    ALERTS = "alerts"
    CHATS = "chats"
    STORE = "store"


class Task(StrEnum):
    """Task names: the gateway enqueues by name and never imports worker code."""

    EMBED_ALERTS = "cortex.embed_alerts"
    EMBED_CHATS = "cortex.embed_chats"
    EMBED_DIGEST = "cortex.embed_digest"
    STORE_POINTS = "cortex.store_points"
    UPDATE_ALERTS = "cortex.update_alerts"
    SEARCH = "cortex.search"
    # Recall, alert history and conversations: interactive reads the store worker answers.
    RECALL = "cortex.recall"


class Priority:
    """Redis priorities: 0 is served first."""

    CRITICAL = 0
    WARNING = 3
    INFO = 6
    CHAT = 9
    SEARCH = 0
    STATUS_UPDATE = 3
    STORE = 6


_SEVERITY_PRIORITY = {
    "critical": Priority.CRITICAL,
    "page": Priority.CRITICAL,
    "error": Priority.WARNING,
    "high": Priority.WARNING,
    "warning": Priority.WARNING,
}


def alert_priority(severity: str | None) -> int:
    """Priority bucket for an alert: critical before warning before info and unknown."""
    return _SEVERITY_PRIORITY.get((severity or "").lower(), Priority.INFO)


def queue_key(queue: str, priority: int) -> str:
    """The Redis list holding `queue`'s messages of one priority bucket (as kombu names it)."""
    bucket = max(step for step in PRIORITY_STEPS if step <= max(0, min(priority, 9)))
    return queue if bucket == 0 else f"{queue}{PRIORITY_SEP}{bucket}"


def queue_keys(queue: str) -> list[str]:
    """Every priority bucket list of a queue, highest priority first."""
    return [queue_key(queue, step) for step in PRIORITY_STEPS]


TASK_QUEUES = {
    Task.EMBED_ALERTS: Queue.ALERTS,
    Task.EMBED_CHATS: Queue.CHATS,
    Task.EMBED_DIGEST: Queue.ALERTS,
    Task.STORE_POINTS: Queue.STORE,
    Task.UPDATE_ALERTS: Queue.STORE,
    Task.SEARCH: Queue.STORE,
    Task.RECALL: Queue.STORE,
}
