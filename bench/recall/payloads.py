"""The set as the product receives it: Alertmanager v4 notifications and LibreChat batches."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bench.recall.dataset import AlertCase, ChatCase

SOURCE = "librechat"
_MESSAGE_GAP = timedelta(minutes=3)
_NO_END = "0001-01-01T00:00:00Z"


def notification(alert: AlertCase) -> dict[str, Any]:
    """One firing alert in a webhook body, grouped by alertname as a default route does."""
    name = alert.labels["alertname"]
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{name}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "cluster-cortex",
        "groupLabels": {"alertname": name},
        "commonLabels": dict(alert.labels),
        "commonAnnotations": dict(alert.annotations),
        "externalURL": "http://alertmanager.monitoring:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": dict(alert.labels),
                "annotations": dict(alert.annotations),
                "startsAt": alert.starts_at,
                "endsAt": _NO_END,
                "generatorURL": f"http://prometheus.monitoring:9090/graph?g0.expr={name}",
                "fingerprint": alert.fingerprint,
            }
        ],
    }


def _conversation(chat: ChatCase) -> dict[str, Any]:
    started = datetime.fromisoformat(chat.started_at)
    messages = [
        {
            "id": str(uuid.uuid5(uuid.UUID(chat.conversation_id), str(i))),
            "role": line.role,
            "text": line.text,
            "created_at": (started + i * _MESSAGE_GAP).isoformat(),
        }
        for i, line in enumerate(chat.messages)
    ]
    return {"id": chat.conversation_id, "title": chat.title, "messages": messages}


def chat_batches(chats: Sequence[ChatCase], *, per_batch: int = 5) -> list[dict[str, Any]]:
    """The conversations in `POST /v1/chats` bodies of a few conversations each, as an exporter."""
    return [
        {"source": SOURCE, "conversations": [_conversation(c) for c in chats[i : i + per_batch]]}
        for i in range(0, len(chats), per_batch)
    ]
