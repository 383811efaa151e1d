"""The controller: moves parked work back when the backend can take it, alerts first, paced.

One small process per deployment (`cortex controller`). It never embeds anything; it only
moves messages between Redis lists, a few per tick, and only while queues are short, so a
replay can never become the storm that caused the parking. It also puts back held messages
no live worker holds any more (`recovery.py`) and flushes storm digests when due.
"""

import contextlib
import logging
import time

import redis
from kombu.exceptions import OperationalError

from common import keys
from common.contract import Queue
from common.protect import digest, parking, telemetry
from common.protect.guard import EmbedGuard
from common.settings import WorkerSettings, get_worker_settings
from common.stats import read_snapshot
from workers.app import create_app
from workers.recovery import Recovery

log = logging.getLogger("cortex.controller")


def _breaker_view(r: redis.Redis, snap_state: str, open_s: int) -> str:
    if snap_state != "open":
        return snap_state
    since = float(r.hget(keys.BREAKER, "since") or 0)
    # Once the open period is over, the next call is a half-open probe.
    return "half_open" if time.time() - since >= open_s else "open"


def tick(r: redis.Redis, guard: EmbedGuard, settings: WorkerSettings) -> dict[str, int]:
    """One round of replay decisions; returns how many messages moved per queue."""
    snap = read_snapshot(r)
    breaker = _breaker_view(r, snap.breaker, settings.breaker_open_s)
    if breaker == "open":
        return {}
    # Half-open: a single message, alerts first, serves as the probe.
    per_queue = 1 if breaker == "half_open" else settings.replay_batch
    moved: dict[str, int] = {}
    for queue in (Queue.ALERTS, Queue.CHATS, Queue.STORE):
        name = queue.value
        if not snap.parked(name) or snap.depth(name) >= settings.replay_low_water:
            continue
        if name in snap.paused:
            continue
        if queue is Queue.CHATS and (breaker != "closed" or guard.bulk_pause_reason()):
            continue
        if n := parking.replay(r, name, limit=per_queue):
            moved[name] = n
            if breaker == "half_open":
                break
    return moved


class KombuRestore:
    """Puts one of kombu's unacked entries back on its queue with kombu's own restore."""

    def __init__(self, settings: WorkerSettings) -> None:
        # The workers' app: the same transport options (priority buckets, separator).
        self._app = create_app(settings)
        self._connection = self._app.connection_for_write()

    def __call__(self, tag: str) -> None:
        """Restore by delivery tag; a fresh connection next time if this one failed."""
        try:
            self._connection.default_channel.qos.restore_by_tag(tag)
        except Exception:
            self._connection.release()
            self._connection = self._app.connection_for_write()
            raise


def _round(r: redis.Redis, guard: EmbedGuard, recovery: Recovery, settings: WorkerSettings) -> None:
    # A heartbeat, so health checks and `cortex status` can tell the controller runs.
    r.set(keys.CONTROLLER_HEARTBEAT, time.time(), ex=60)
    if moved := tick(r, guard, settings):
        log.info("replayed %s", moved)
    if flushed := digest.flush_due(r, max_members=settings.digest_max_members):
        telemetry.count(r, "digest:alerts", flushed)
        log.info("queued digests of %d alerts", flushed)
    unacked, claimed = recovery.sweep()
    if unacked or claimed:
        telemetry.count(r, "recovered:unacked", unacked)
        telemetry.count(r, "recovered:claimed", claimed)


def run(settings: WorkerSettings) -> None:
    """Loop until interrupted; Redis outages are waited out, never fatal."""
    r = redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_s,
        socket_connect_timeout=settings.redis_timeout_s,
    )
    guard = EmbedGuard(r, settings)
    recovery = Recovery(r, KombuRestore(settings))
    log.info("controller running: replaying parked work every %ss", settings.controller_interval_s)
    while True:
        try:
            _round(r, guard, recovery, settings)
        except (redis.RedisError, OperationalError) as exc:
            recovery.redis_failed()
            log.warning("redis unavailable, waiting: %s", exc)
        time.sleep(settings.controller_interval_s)


def main() -> None:
    """Entry point of `cortex controller`."""
    logging.basicConfig(
        level=logging.INFO, format="[%(asctime)s: %(levelname)s/controller] %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        run(get_worker_settings())


if __name__ == "__main__":
    main()
