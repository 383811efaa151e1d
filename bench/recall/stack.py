"""cluster-cortex under test (`bench.cortexstack`), loaded with the set through its intake.

Settings are the README's defaults except those in `cortex_env`, each with the reason it
differs; what search does (mode, fusion) is always the product's default unless `--set`.
"""

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from bench.cortexstack import CortexStack
from bench.recall.dataset import RecallSet
from bench.recall.payloads import chat_batches, notification

TOKEN = "recall-bench-token"
LOAD_TIMEOUT_S = 240
_POLL_S = 0.5
_HTTP_TIMEOUT_S = 30


def cortex_env(embed: Mapping[str, str]) -> dict[str, str]:
    """The CORTEX_ settings that differ from the README's defaults, and why."""
    return {
        # Intake as deployed: the webhook and chat endpoints behind a bearer token.
        "CORTEX_WEBHOOK_TOKEN": TOKEN,
        # The set arrives within seconds: past 20 alerts of one alertname (it holds 8
        # KubePodCrashLooping) a storm digest would embed several incidents as one document,
        # while questions name each incident.
        "CORTEX_STORM_THRESHOLD": "1000000",
        # Every question is asked once per mode and then again for latency, hundreds a minute;
        # the interactive budget (60/min) would refuse the benchmark's own questions.
        "CORTEX_SEARCH_CALLS_PER_MIN": "100000",
        # KubeNodeNotReady for node03 is a past incident of the set, not pressure on the node
        # embedding it: matched against any node, it would pause chat work for six hours.
        "CORTEX_EMBED_NODE": "recall-bench-embedder",
        # Loading is not what this measures: Celery's per-worker rate limit (about a task a
        # second) and a brownout hold on a busy 2-core machine would only make the load wait.
        "CORTEX_ALERTS_RATE_LIMIT": "0",
        "CORTEX_CHATS_RATE_LIMIT": "0",
        "CORTEX_BROWNOUT_LATENCY_RATIO": "1000",
        **embed,
    }


class RecallStack:
    """The processes, the set loaded through the real endpoints, and search through the gateway."""

    def __init__(self, tag: str, workdir: Path) -> None:
        self._cortex = CortexStack(tag, workdir, persist=False, qdrant_path=workdir / "qdrant")
        self.url = self._cortex.url
        self.session = requests.Session()
        self._auth = {"Authorization": f"Bearer {TOKEN}"}

    def start(self, embed_url: str, settings: Mapping[str, str]) -> None:
        """Start Redis and every process; wait until all are ready."""
        self._cortex.start(embed_url, dict(settings))

    def load(self, recall_set: RecallSet) -> tuple[int, int]:
        """Post every alert and conversation; return the alerts and chat chunks accepted."""
        alerts = sum(self._post("/v1/alerts/alertmanager", notification(a))["accepted"]
                     for a in recall_set.alerts)  # fmt: skip
        chunks = sum(self._post("/v1/chats", batch)["chunks"]
                     for batch in chat_batches(recall_set.chats))  # fmt: skip
        return alerts, chunks

    def wait_stored(self, alerts: int, chunks: int) -> float:
        """Block until `/v1/stats` counts everything stored; the seconds it took."""
        started = time.monotonic()
        stats: dict[str, Any] = {}
        while time.monotonic() - started < LOAD_TIMEOUT_S:
            stats = self._cortex.stats()
            stored = stats.get("stored", {})
            if stored.get("alert", 0) >= alerts and stored.get("chat", 0) >= chunks:
                return time.monotonic() - started
            if stats.get("dead_letters"):
                break
            time.sleep(_POLL_S)
        raise RuntimeError(
            f"not stored: {alerts} alerts, {chunks} chunks wanted; stats {stats}\n{self.tails()}"
        )

    def openapi(self) -> dict[str, Any]:
        """The gateway's OpenAPI document."""
        reply = self.session.get(self.url + "/openapi.json", timeout=_HTTP_TIMEOUT_S)
        reply.raise_for_status()
        body: dict[str, Any] = reply.json()
        return body

    def search(self, params: Mapping[str, str | int]) -> requests.Response:
        """One `GET /v1/search` through the gateway."""
        return self.session.get(self.url + "/v1/search", params=params, timeout=_HTTP_TIMEOUT_S)

    def tails(self) -> str:
        """Every process's log tail, for a failed run."""
        return self._cortex.tails()

    def stop(self) -> None:
        """Stop every process and Redis."""
        self.session.close()
        self._cortex.stop()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = self.session.post(
            self.url + path, json=body, headers=self._auth, timeout=_HTTP_TIMEOUT_S
        )
        if reply.status_code != 202:
            raise RuntimeError(f"POST {path}: {reply.status_code} {reply.text[:500]}")
        answer: dict[str, Any] = reply.json()
        return answer
