"""Realistic Alertmanager v4 notifications and chat batches, built small and explicit."""

from typing import Any


def alert(
    name: str = "KubePodCrashLooping",
    *,
    severity: str = "critical",
    status: str = "firing",
    fingerprint: str = "0f1e2d3c4b5a6978",
    starts_at: str = "2026-04-15T09:41:00Z",
    ends_at: str = "0001-01-01T00:00:00Z",
    pod: str = "mailu-front-7d9c5",
    summary: str = "",
) -> dict[str, Any]:
    """One alert as Alertmanager sends it."""
    return {
        "status": status,
        "labels": {
            "alertname": name,
            "severity": severity,
            "namespace": "mail",
            "pod": pod,
            "node": "node02",
        },
        "annotations": {
            "summary": summary or f"Pod mail/{pod} is crash looping",
            "description": "Liveness probe failed: command timed out after 5s",
        },
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "fingerprint": fingerprint,
    }


def notification(*alerts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A version-4 webhook body around the alerts."""
    status = "resolved" if all(a["status"] == "resolved" for a in alerts) and alerts else "firing"
    return {
        "version": "4",
        "groupKey": '{}:{alertname="KubePodCrashLooping"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "cluster-cortex",
        "groupLabels": {"alertname": "KubePodCrashLooping"},
        "commonLabels": {"namespace": "mail"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
        **extra,
    }


def chat_batch(
    conversation_id: str = "conv-1", n: int = 3, *, source: str = "librechat"
) -> dict[str, Any]:
    """A LibreChat batch of one conversation with `n` messages."""
    messages = [
        {
            "id": f"{conversation_id}-m{i}",
            "role": "user" if i % 2 == 0 else "assistant",
            "text": f"message {i} on qdrant snapshots and redis persistence in {conversation_id}",
            "created_at": f"2026-04-1{i % 10}T10:00:00Z",
        }
        for i in range(n)
    ]
    return {
        "source": source,
        "conversations": [
            {"id": conversation_id, "title": f"Notes {conversation_id}", "messages": messages}
        ],
    }
