"""The Celery app, importable as `workers.app` so the stock celery CLI works on it."""

from celery import Celery
from kombu.entity import Queue as KombuQueue

from common.contract import PRIORITY_SEP, PRIORITY_STEPS, TASK_QUEUES, Queue
from common.settings import WorkerSettings, get_worker_settings


def _broker_options(settings: WorkerSettings) -> dict[str, object]:
    return {
        # Every worker on this Redis DB must share one value: kombu restores any unacked
        # message older than this, whether or not it is still running.
        "visibility_timeout": settings.visibility_timeout_s,
        # Sweep for abandoned messages every 10 s (one ZRANGE), not kombu's default ~100 s.
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
        "sep": PRIORITY_SEP,
        "priority_steps": list(PRIORITY_STEPS),
        "queue_order_strategy": "priority",
        "socket_connect_timeout": settings.redis_timeout_s,
        "socket_timeout": 30,
        "health_check_interval": 10,
    }


_MODULES = ["workers.tasks", "workers.lifecycle"]


def create_app(settings: WorkerSettings) -> Celery:
    """Configure Celery for at-least-once delivery with bounded retries and no prefetch hoarding."""
    app = Celery(
        "cortex", broker=settings.redis_url, include=["workers.tasks", "workers.lifecycle"]
    )
    app.conf.update(
        broker_transport_options=_broker_options(settings),
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        task_queues=[KombuQueue(q.value, routing_key=q.value) for q in Queue],
        task_default_queue=Queue.ALERTS.value,
        task_routes={name.value: {"queue": q.value} for name, q in TASK_QUEUES.items()},
        # At-least-once: ack after the work, redeliver when a worker dies mid-task. A lost
        # worker counts as a retry (Celery 5.7), so a task that kills its process is bounded.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_retry_on_worker_lost=True,
        task_acks_on_failure=True,
        task_acks_on_timeout=True,
        worker_prefetch_multiplier=1,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_send_task_events=True,
        task_send_sent_event=False,
        worker_hijack_root_logger=False,
    )
    return app


app = create_app(get_worker_settings())
