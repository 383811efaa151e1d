"""Settling a delivery in one atomic step: hand-off, requeue or park, and the acknowledgement.

An embedding task ends by doing several things in Redis: queue its points for the store,
put back the items it did not embed (or park the whole batch), forget the messages it claimed
to fill its batch, and acknowledge its own message. Done separately, a crash or a Redis outage
between the steps leaves an item stored twice, embedded twice, or acknowledged and never
stored. The settle script does all of it at once, removing the task's own entry from kombu's
unacked hash itself (Celery's later ack is then a no-op), and marks the task id settled, so a
copy of the message that kombu restored meanwhile is skipped instead of embedded again.
"""

import time
from dataclasses import dataclass, field

import redis

from common import keys
from common.protect import drain

# How long a settled task id is remembered: copies of its message come back within minutes
# (kombu's restore when a connection drops, the controller's recovery), never later.
SETTLED_TTL_S = 900

# KEYS[1] settled marker, KEYS[2] unacked, KEYS[3] unacked index, KEYS[4] claims index,
# KEYS[5] claim ('' for none), KEYS[6] drained bucket ('' for none).
# ARGV: settled ttl, delivery tag ('' for none), drained items, drained ttl, then
# (push command, list, message) triples.
_SETTLE = """
if not redis.call('SET', KEYS[1], 1, 'NX', 'EX', ARGV[1]) then return 0 end
if ARGV[2] ~= '' then
  redis.call('HDEL', KEYS[2], ARGV[2])
  redis.call('ZREM', KEYS[3], ARGV[2])
end
if KEYS[5] ~= '' then
  redis.call('DEL', KEYS[5])
  redis.call('ZREM', KEYS[4], KEYS[5])
end
if KEYS[6] ~= '' and tonumber(ARGV[3]) > 0 then
  redis.call('INCRBY', KEYS[6], ARGV[3])
  redis.call('EXPIRE', KEYS[6], ARGV[4])
end
for i = 5, #ARGV, 3 do redis.call(ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
return 1
"""


@dataclass(frozen=True)
class Delivery:
    """Which message a task runs: its task id and kombu delivery tag."""

    task_id: str
    tag: str = ""


@dataclass
class Settlement:
    """What one task leaves behind; applied by `settle` all at once or not at all."""

    delivery: Delivery
    claim_key: str = ""
    # (command, list, message). kombu pushes on the left and consumers pop on the right.
    pushes: list[tuple[str, str, bytes]] = field(default_factory=list)
    drained: tuple[str, int] | None = None

    def enqueue(self, list_key: str, message: bytes) -> None:
        """Queue a message behind what waits already, as kombu publishes."""
        self.pushes.append(("LPUSH", list_key, message))

    def put_first(self, list_key: str, message: bytes) -> None:
        """Queue a message at the head of its list: the next one a consumer takes."""
        self.pushes.append(("RPUSH", list_key, message))

    def park(self, parked_key: str, message: bytes) -> None:
        """Set a message aside on a parked list, replayed oldest first (see `parking.py`)."""
        self.pushes.append(("RPUSH", parked_key, message))


def settled(r: redis.Redis, task_id: str) -> bool:
    """Whether this task id has settled already (a message that came back is a copy)."""
    return bool(r.exists(keys.settled(task_id)))


def settle(r: redis.Redis, settlement: Settlement) -> bool:
    """Apply a settlement atomically; False if this task id had settled already."""
    now = time.time()
    drained_key, items = "", 0
    if settlement.drained:
        kind, items = settlement.drained
        drained_key = drain.bucket_key(kind, now)
    claim = settlement.claim_key
    script_keys = [
        keys.settled(settlement.delivery.task_id), keys.KOMBU_UNACKED, keys.KOMBU_UNACKED_INDEX,
        keys.CLAIMS, claim,
        drained_key,
    ]  # fmt: skip
    args: list[str | bytes | int] = [
        SETTLED_TTL_S,
        settlement.delivery.tag,
        items,
        2 * drain.WINDOW_S,
    ]
    for command, list_key, message in settlement.pushes:
        args += [command, list_key, message]
    return bool(r.register_script(_SETTLE)(keys=script_keys, args=args))
