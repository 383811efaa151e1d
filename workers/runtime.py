"""What every task and hook of one worker process shares: its settings and its clients.

One `Resources` per process, opened lazily (pool children open their own after the fork).
"""

from celery import Task as CeleryTask

from common.settings import get_worker_settings
from workers.resources import Resources

settings = get_worker_settings()
resources = Resources(settings)


def priority_of(task: CeleryTask, default: int) -> int:
    """The priority the running task was delivered with (kombu's delivery info)."""
    info = task.request.delivery_info or {}
    return int(info.get("priority", default) or default)
