"""The dead-letter list: every item that failed for good, with its reason, for the CLI to show."""

import logging
import time
from typing import Any

import orjson
import redis

from common import keys
from common.contract import TASK_QUEUES, Task

log = logging.getLogger(__name__)


def dead_letter(
    r: redis.Redis, *, task: str, task_id: str, args: Any, reason: str, retries: int
) -> None:
    """Append a failed task's payload and reason; replay re-enqueues it from here."""
    entry = {
        "task": task,
        "queue": TASK_QUEUES[Task(task)].value,
        "task_id": task_id,
        "args": args,
        "reason": reason[:2000],
        "retries": retries,
        "failed_at": time.time(),
    }
    r.lpush(keys.DEAD_LETTERS, orjson.dumps(entry))
    log.error("dead-lettered %s[%s] after %d retries: %s", task, task_id, retries, reason[:300])
