"""Redis key names outside kombu's: dedup state, dead letters, counters, replies."""

PREFIX = "cortex:"
DEAD_LETTERS = PREFIX + "dead"
PARKED = PREFIX + "parked"
STORED_COUNTS = PREFIX + "stored"
DELIVERIES = PREFIX + "deliveries:"


def seen(dedup_key: str) -> str:
    """The key holding an item's last accepted state (alert status or chat content hash)."""
    return f"{PREFIX}seen:{dedup_key}"


def alert_status(point_id: str) -> str:
    """The latest known status of an alert point, for a resolution that beat its embedding."""
    return f"{PREFIX}alert-status:{point_id}"


def reply(request_id: str) -> str:
    """Where the store worker answers one search request."""
    return f"{PREFIX}reply:{request_id}"
