"""The dead-letter list: every task that failed for good, with its reason, for the CLI to show."""

import logging
import time
from typing import Any

import redis

from common import keys
from common.contract import TASK_QUEUES, Task
from common.protect.parking import dead_letter_entry

log = logging.getLogger(__name__)


def dead_letter(
    r: redis.Redis, *, task: str, task_id: str, args: Any, reason: str, retries: int, priority: int
) -> None:
    """Append a failed task's payload and reason; `cortex replay --from dead` re-enqueues it."""
    entry = dead_letter_entry(
        task=task, queue=TASK_QUEUES[Task(task)].value, priority=priority, args=args,
        reason=reason, retries=retries, task_id=task_id, failed_at=time.time(),
    )  # fmt: skip
    # LPUSH: newest first for `cortex dead-letters`; replay pops the oldest from the right.
    r.lpush(keys.DEAD_LETTERS, entry)
    log.error("dead-lettered %s[%s] after %d retries: %s", task, task_id, retries, reason[:300])
