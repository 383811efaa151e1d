"""Realistic intake bodies: Alertmanager webhooks of a few distinct alerts, LibreChat batches.

Every alert is a new occurrence (its own fingerprint) and every chat message a new id, so
nothing is a duplicate; alertnames are spread and the storm threshold is set out of reach, so
each alert is embedded as itself. Nothing is named like a pressure alert or lives in
cluster-cortex's own namespace: neither pauses chats nor coalesces anything here.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

ALERTS_PATH = "/v1/alerts/alertmanager"
CHATS_PATH = "/v1/chats"
# In every chat message's text (its conversation id) and in no alert: what the embedder
# tells a chat call from an alert call by.
_CHAT_MARKER = "-conv-"

_ALERTNAMES = [
    ("KubePodCrashLooping", "Pod {ns}/{pod} is crash looping"),
    ("KubePodNotReady", "Pod {ns}/{pod} has been in a non-ready state for longer than 15 minutes"),
    ("KubeContainerWaiting", "Container in {ns}/{pod} has been waiting for longer than 1 hour"),
    ("KubeDeploymentReplicasMismatch", "Deployment {ns}/{pod} has not matched its replicas"),
    ("KubeJobFailed", "Job {ns}/{pod} failed to complete"),
    ("KubePersistentVolumeFillingUp", "PersistentVolume claimed by {ns}/{pod} is filling up"),
    ("TargetDown", "Targets in {ns}/{pod} are down"),
    ("CertManagerCertExpirySoon", "Certificate for {ns}/{pod} expires in less than a week"),
    ("TraefikBackendErrorsHigh", "Backend {ns}/{pod} answers too many 5xx"),
    ("PostgresReplicationLag", "Replica {ns}/{pod} lags behind its primary"),
]
_NAMESPACES = ["mail", "nextcloud", "immich", "monitoring", "ingress", "databases", "media"]
_SEVERITIES = ["critical", "warning", "warning", "info"]
_CAUSES = [
    "Liveness probe failed: command timed out after 5s",
    "Back-off restarting failed container after OOMKilled",
    "readiness probe returned 503 while the volume was still mounting",
    "image pull from the registry timed out",
    "disk usage above 90 percent on the node's data volume",
]
_TOPICS = [
    "restoring a qdrant snapshot after a node failure",
    "why redis AOF rewrite blocks on a slow disk",
    "tuning immich machine learning workers on arm64",
    "mailu front pod failing liveness probes",
    "flux kustomization stuck on a failed health check",
    "ollama num_thread and container cpu limits",
]
_T0 = datetime(2026, 4, 15, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Post:
    """One intake request: where, the serialized body, and how many items it carries."""

    kind: str
    path: str
    body: bytes
    items: int


def _alert(index: int, tag: str, severity: str, rng: random.Random) -> dict[str, Any]:
    name, summary = _ALERTNAMES[index % len(_ALERTNAMES)]
    ns = _NAMESPACES[rng.randrange(len(_NAMESPACES))]
    pod = f"{ns}-{tag}-{index:05d}-{rng.randrange(16**5):05x}"
    return {
        "status": "firing",
        "labels": {
            "alertname": name, "severity": severity, "namespace": ns, "pod": pod,
            "node": f"node0{1 + index % 3}",
        },
        "annotations": {
            "summary": summary.format(ns=ns, pod=pod),
            "description": _CAUSES[rng.randrange(len(_CAUSES))],
        },
        "startsAt": (_T0 + timedelta(seconds=index)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.monitoring:9090/graph?g0.expr=up",
        "fingerprint": f"{tag}{index:012x}",
    }  # fmt: skip


def _notification(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    name = alerts[0]["labels"]["alertname"]
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{name}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "cluster-cortex",
        "groupLabels": {"alertname": name},
        "commonLabels": {"severity": alerts[0]["labels"]["severity"]},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.monitoring:9093",
        "alerts": alerts,
    }


def alert_posts(n_alerts: int, *, max_per_webhook: int, tag: str, seed: int) -> list[Post]:
    """Webhooks of 1..max_per_webhook distinct alerts each (one severity per webhook)."""
    rng = random.Random(seed)
    posts, index = [], 0
    while index < n_alerts:
        size = min(rng.randint(1, max(1, max_per_webhook)), n_alerts - index)
        severity = _SEVERITIES[rng.randrange(len(_SEVERITIES))]
        alerts = [_alert(index + i, tag, severity, rng) for i in range(size)]
        posts.append(Post("alert", ALERTS_PATH, orjson.dumps(_notification(alerts)), size))
        index += size
    return posts


def _chat_batch(index: int, size: int, tag: str) -> dict[str, Any]:
    conversation = f"{tag}{_CHAT_MARKER}{index:05d}"
    topic = _TOPICS[index % len(_TOPICS)]
    messages = [
        {
            "id": f"m{j}",
            "role": "user" if j % 2 == 0 else "assistant",
            "text": f"({conversation} #{j}) {topic}: step {j} of the investigation, "
            "what we checked and what we changed next",
            "created_at": (_T0 + timedelta(minutes=index, seconds=j)).isoformat(),
        }
        for j in range(size)
    ]
    return {
        "source": "librechat",
        "conversations": [{"id": conversation, "title": topic, "messages": messages}],
    }


def chat_posts(n_messages: int, *, batch_size: int, tag: str) -> list[Post]:
    """Batches of `batch_size` new messages, one conversation each."""
    posts = []
    for index, start in enumerate(range(0, n_messages, max(1, batch_size))):
        size = min(batch_size, n_messages - start)
        posts.append(Post("chat", CHATS_PATH, orjson.dumps(_chat_batch(index, size, tag)), size))
    return posts


def interleaved(*streams: list[Post]) -> list[Post]:
    """Merge streams so each arrives spread evenly over the whole posting, not one after another."""
    keyed = [
        ((i + 0.5) / len(stream), n, post)
        for n, stream in enumerate(streams)
        for i, post in enumerate(stream)
    ]
    return [post for _, _, post in sorted(keyed, key=lambda k: (k[0], k[1]))]


def kind_of(texts: list[str]) -> str:
    """ "chat" for an embed call of this traffic's chat messages, else "alert"."""
    return "chat" if texts and _CHAT_MARKER in texts[0] else "alert"


def sample_texts(n: int, *, seed: int) -> list[str]:
    """Alert-like texts for the direct baseline, about as long as what workers embed."""
    rng = random.Random(seed)
    texts = []
    for index in range(n):
        alert = _alert(index, "direct", "warning", rng)
        texts.append(
            f"search_document: {alert['labels']['alertname']} warning in "
            f"{alert['labels']['namespace']}: {alert['annotations']['summary']}. "
            f"{alert['annotations']['description']}"
        )
    return texts
