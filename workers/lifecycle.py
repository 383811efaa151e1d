"""The worker's lifecycle hooks (Celery signals): checks at start, leases, dead letters, close.

Registered by import: the Celery app includes this module beside the tasks.
"""

import logging
from typing import Any

from celery import Task as CeleryTask
from celery.signals import (
    celeryd_after_setup,
    task_failure,
    task_received,
    worker_process_init,
    worker_ready,
    worker_shutdown,
)

from common import keys
from common.contract import Queue, Task
from common.errors import CortexError
from workers import deadletter, leases
from workers.runtime import priority_of, resources, settings

log = logging.getLogger(__name__)


@task_failure.connect
def _dead_letter_on_failure(
    sender: CeleryTask | None = None,
    task_id: str = "",
    exception: BaseException | None = None,
    args: Any = None,
    **_: Any,
) -> None:
    # Fires for exceptions, exhausted retries, hard time limits and lost workers alike.
    # Interactive reads are not work to keep: the gateway has answered 503 long before.
    if sender is None or sender.name in (Task.SEARCH, Task.RECALL):
        return
    retries = sender.request.retries if sender.request else 0
    try:
        deadletter.dead_letter(
            resources.redis(),
            task=sender.name,
            task_id=task_id,
            args=args,
            reason=repr(exception),
            retries=retries or 0,
            priority=priority_of(sender, 0),
        )
    except Exception:
        # Redis is down: the message is still unacked in Redis and comes back after the
        # visibility timeout, so nothing is lost by not recording it here.
        log.exception("could not dead-letter %s[%s]", sender.name, task_id)


@celeryd_after_setup.connect
def _check_store_at_start(sender: str, instance: Any, **_: Any) -> None:
    # A store worker checks its collection (model, dimension, folder lock) at start-up, so a
    # misconfiguration stops it at once instead of dead-lettering every task.
    if Queue.STORE.value not in set(instance.app.amqp.queues.consume_from or {}):
        return
    solo = instance.pool_cls.__module__.endswith("solo")
    # Celery logs and swallows exceptions from signal handlers; SystemExit is not swallowed.
    if settings.qdrant_url is None and not solo:
        raise SystemExit(
            "Qdrant local mode allows one thread of one process: run the store queue with "
            "--pool solo (as `cortex worker --queues store` does), or set CORTEX_QDRANT_URL"
        )
    try:
        resources.store()
    except CortexError as exc:
        raise SystemExit(f"store worker cannot start: {exc}") from None
    if not solo:
        resources.close()  # pool children open their own clients after the fork


@celeryd_after_setup.connect
def _skip_paused_queues(sender: str, instance: Any, **_: Any) -> None:
    # `cortex pause` cancels consumers on running workers; one started later must not
    # quietly resume a paused queue.
    selected = set(instance.app.amqp.queues.consume_from or {})
    for raw in resources.redis().hkeys(keys.PAUSED):
        queue = raw.decode() if isinstance(raw, bytes) else raw
        if queue in selected:
            instance.app.amqp.queues.deselect(queue)
            log.warning("not consuming %s: it is paused (cortex resume %s)", queue, queue)


@task_received.connect
def _lease_received(request: Any = None, **_: Any) -> None:
    # In the worker's main process: held until acknowledged, whatever the pool runs.
    if request is not None:
        leases.hold(request)


@worker_ready.connect
def _renew_leases(**_: Any) -> None:
    resources.renewer().start()


@worker_process_init.connect
def _forget_parent_clients(**_: Any) -> None:
    resources.forget()


@worker_shutdown.connect
def _close(**_: Any) -> None:
    resources.close()
