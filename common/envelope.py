"""Celery protocol-2 messages in kombu's Redis envelope, built without Celery.

Publishing through `apply_async` costs several times a bare LPUSH, and the atomic dedup script
must write the message itself, so the gateway builds the envelope here. The body travels as a
plain JSON string (no `body_encoding`), which kombu's virtual transport reads unchanged.
"""

import uuid
from typing import Any

import orjson

_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
_BODY_SLOT = "\x00body\x00"
# args=[[items...]], kwargs={}, embed: the Lua script splices the items between these.
BODY_PREFIX = "[[["
BODY_SUFFIX = "]]," + orjson.dumps({}).decode() + "," + orjson.dumps(_EMBED).decode() + "]"


def _envelope(
    task: str, queue: str, priority: int, task_id: str, argsrepr: str, tag: str = ""
) -> dict[str, Any]:
    return {
        "body": _BODY_SLOT,
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py",
            "task": task,
            "id": task_id,
            "shadow": None,
            "eta": None,
            "expires": None,
            "group": None,
            "group_index": None,
            "retries": 0,
            "timelimit": [None, None],
            "root_id": task_id,
            "parent_id": None,
            "argsrepr": argsrepr,
            "kwargsrepr": "{}",
            "origin": "cortex",
            "ignore_result": True,
            "replaced_task_nesting": 0,
            "stamped_headers": None,
            "stamps": {},
        },
        "properties": {
            "correlation_id": task_id,
            "reply_to": "",
            "delivery_mode": 2,
            # Anonymous exchange: kombu restores unacked messages straight to the queue
            # named by routing_key, with no binding table needed.
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": priority,
            "delivery_tag": tag or str(uuid.uuid4()),
        },
    }


def envelope_around_body(
    task: str, queue: str, priority: int, *, argsrepr: str = "items"
) -> tuple[str, str]:
    """Return (prefix, suffix): prefix + JSON-string-of-body + suffix is a whole message."""
    raw = orjson.dumps(_envelope(task, queue, priority, str(uuid.uuid4()), argsrepr)).decode()
    prefix, suffix = raw.split(orjson.dumps(_BODY_SLOT).decode())
    return prefix, suffix


# Stands for a message's id in a template; the enqueue script substitutes a unique one.
ID_SLOT = "@@ID@@"


def envelope_template(task: str, queue: str, priority: int) -> tuple[str, str]:
    """Like `envelope_around_body`, with `ID_SLOT` where the task id and delivery tag go.

    Built once per route: the enqueue script fills in a fresh id for every message it
    creates, so one request can create several messages without any JSON work per message.
    """
    raw = orjson.dumps(_envelope(task, queue, priority, ID_SLOT, "items", ID_SLOT)).decode()
    prefix, suffix = raw.split(orjson.dumps(_BODY_SLOT).decode())
    return prefix, suffix


def message(task: str, queue: str, priority: int, args: list[Any]) -> bytes:
    """A whole message for `task(*args)`, for enqueues that need no dedup script."""
    body = orjson.dumps([args, {}, _EMBED]).decode()
    envelope = _envelope(task, queue, priority, str(uuid.uuid4()), f"{len(args)} args")
    envelope["body"] = body
    return orjson.dumps(envelope)
