"""The text each item is embedded and indexed as; alert status is left out, so resolving needs no
embedding.

Built from the stored payload alone, so `cortex reindex` recomputes exactly the BM25 vectors a
worker computed when it stored the point. An alert's text leads with what fired (its alertname,
also split into words), then its summary and description, then the labels that say which
workload it is about, with the workload a pod belongs to spelled out.
"""

from collections.abc import Mapping
from typing import Any

from common.identifiers import split_camel, workload_name
from common.items import AlertItem, ChatItem
from common.points import Kind

# Bumped whenever the text below (or the BM25 recipe of common.sparse) changes: recorded in the
# collection, and a collection of another version is brought up to date by `cortex reindex`.
# 1: the first release; 2: alertname words, workload labels and names, date only, BM25.
TEXT_VERSION = 2
# The labels that say which workload an alert is about, in the order they are told.
_WORKLOAD_LABELS = (
    "namespace", "pod", "container", "node", "persistentvolumeclaim", "persistentvolume",
    "deployment", "statefulset", "daemonset", "replicaset", "job_name", "cronjob",
    "horizontalpodautoscaler", "service", "instance",
)  # fmt: skip
# Said elsewhere in the text, or the scraping machinery's: noise to a reader and to BM25.
_UNTOLD_LABELS = frozenset(
    {"alertname", "severity", "prometheus", "prometheus_replica", "endpoint", "uid", "metrics_path"}
)


def _workload(labels: Mapping[str, str]) -> str:
    """`namespace minio, pod minio-7f9c6d5b8-2xk4j (workload minio), node nuc1`."""
    parts = []
    for key in _WORKLOAD_LABELS:
        value = labels.get(key)
        if not value:
            continue
        name = workload_name(value) if key == "pod" else None
        parts.append(f"{key} {value}" + (f" (workload {name})" if name else ""))
    return ", ".join(parts)


def alert_document(payload: Mapping[str, Any]) -> str:
    """Describe an alert occurrence from its payload: what fired, what it says, and where."""
    labels: Mapping[str, str] = payload.get("labels") or {}
    name = str(payload.get("alertname") or "")
    words = split_camel(name)
    lines = [
        f"Alert {name}" + (f" ({words})" if words != name else "")
        + f", severity {payload.get('severity') or 'unknown'}"
    ]  # fmt: skip
    lines += [str(payload[k]) for k in ("summary", "description") if payload.get(k)]
    if where := _workload(labels):
        lines.append(f"Workload: {where}")
    other = ", ".join(
        f"{k}={v}"
        for k, v in sorted(labels.items())
        if k not in _WORKLOAD_LABELS and k not in _UNTOLD_LABELS and v
    )
    if other:
        lines.append(f"Labels: {other}")
    lines.append(f"Started {str(payload.get('startsAt') or '')[:10]}")
    return "\n".join(lines)


def chat_document(payload: Mapping[str, Any]) -> str:
    """A chat chunk with the context a search needs: conversation title, role, time and part."""
    title = payload.get("title") or "untitled conversation"
    chunks = int(payload.get("chunks") or 1)
    part = f" (part {int(payload.get('chunk') or 0) + 1} of {chunks})" if chunks > 1 else ""
    role, created = payload.get("role"), payload.get("created_at")
    return f"Conversation: {title}\n{role} at {created}{part}:\n{payload.get('text')}"


def document_text(kind: Kind, payload: Mapping[str, Any]) -> str:
    """The text of a stored point of either kind, from its payload."""
    return alert_document(payload) if kind == "alert" else chat_document(payload)


def alert_text(item: AlertItem) -> str:
    """The text an alert occurrence is embedded as."""
    return alert_document(item.payload())


def chat_text(item: ChatItem) -> str:
    """The text a chat chunk is embedded as."""
    return chat_document(item.payload())
