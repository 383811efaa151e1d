"""Redis key names outside kombu's: dedup state, dead letters, counters, replies."""

PREFIX = "cortex:"
# kombu's Redis transport: delivered, unacknowledged messages, and their delivery times.
KOMBU_UNACKED = "unacked"
KOMBU_UNACKED_INDEX = "unacked_index"
# Task ids held by live workers (received, not yet acknowledged), scored by lease expiry.
LEASES = PREFIX + "leases"
DEAD_LETTERS = PREFIX + "dead"
PARKED = PREFIX + "parked"
STORED_COUNTS = PREFIX + "stored"
SLOTS = PREFIX + "slots"
SLOTS_FREED = PREFIX + "slots:freed"
# Alert and search calls waiting for a slot: bulk work does not borrow while any waits.
SLOT_WAITERS = PREFIX + "slots:waiters"
# Wake-ups of a freed slot while an alert or search call waits: only those listen here.
SLOTS_FREED_PRIORITY = PREFIX + "slots:freed:priority"
# Queued messages a worker took over to fill its batch, indexed by when to give them back.
CLAIMS = PREFIX + "claims"
CLAIM = PREFIX + "claim:"
LIMITER = PREFIX + "limiter"
BREAKER = PREFIX + "breaker"
BREAKER_WINDOW = PREFIX + "breaker:window:"
COUNTERS = PREFIX + "counters"
LATENCY = PREFIX + "latency"
PAUSED = PREFIX + "paused"
PRESSURE_ALERTS = PREFIX + "pressure-alerts"
CONTROLLER_HEARTBEAT = PREFIX + "controller:heartbeat"
DIGESTS_DUE = PREFIX + "digests"
# Per queue list: the newest message the enqueue script may still add items to.
TAIL = PREFIX + "tail:"
# Chat items embedded per 10 s bucket: the drain rate behind a 429's Retry-After.
DRAINED = PREFIX + "drained:"


def settled(task_id: str) -> str:
    """Marks a task id whose delivery settled, so a copy of its message is skipped."""
    return f"{PREFIX}settled:{task_id}"


def storm_set(alertname: str, window: int) -> str:
    """Distinct fingerprints of one alertname seen in one storm window."""
    return f"{PREFIX}storm:{alertname}:{window}"


def seen(dedup_key: str) -> str:
    """The key holding an item's last accepted state (alert status or chat content hash)."""
    return f"{PREFIX}seen:{dedup_key}"


def alert_status(point_id: str) -> str:
    """The latest known status of an alert point, for a resolution that beat its embedding."""
    return f"{PREFIX}alert-status:{point_id}"


def parked(queue_bucket: str) -> str:
    """The parked list of one queue bucket (`alerts:3` -> `cortex:parked:alerts:3`)."""
    return f"{PARKED}:{queue_bucket}"


def digest_buffer(name: str) -> str:
    """Alerts gathering for one digest document (an alertname or groupKey in one window)."""
    return f"{PREFIX}digest:{name}"


def reply(request_id: str) -> str:
    """Where the store worker answers one search request."""
    return f"{PREFIX}reply:{request_id}"
