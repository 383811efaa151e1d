"""The recorded stack: cluster-cortex's real processes, Flower, and a real Prometheus on loopback.

`bench.cortexstack` (a throwaway redis-server, the workers, the controller and the gateway),
`cortex embedder` (the development embedder, slowed down and sped up through its
/_dev/config), Flower, and Debian's `prometheus` scraping the gateway and Flower every second
under the job names the rules and the ServiceMonitor use. Settings are the README's defaults
except those in `CORTEX_ENV`.
"""

import contextlib
import os
import shutil
import time
from pathlib import Path
from typing import Any

import requests

from bench.cortexstack import START_TIMEOUT_S, CortexStack
from common.cli.procs import Child, celery_argv, cortex_argv, free_port

NAMESPACE = "cluster-cortex"
TOKEN = "dashboard-bench-token"
EMBED_DIM = 64
SCRAPE_INTERVAL_S = 1
# The hold-offs that decide what the panels show (breaker open, brownout hold, pressure
# cool-down, controller tick) are cut to a half or a third, so an incident fits 3 minutes.
CORTEX_ENV = {
    "CORTEX_WEBHOOK_TOKEN": TOKEN,
    # Cheap vectors: the embedder's cost is the configured delay, not vector arithmetic.
    "CORTEX_EMBED_DIM": str(EMBED_DIM),
    "CORTEX_EMBED_CALL_TARGET_S": "3",
    "CORTEX_BREAKER_OPEN_S": "15",
    "CORTEX_BROWNOUT_HOLD_S": "15",
    "CORTEX_PRESSURE_COOLDOWN_S": "20",
    "CORTEX_CONTROLLER_INTERVAL_S": "1",
    # Small enough that a minute of paused chats reaches it, so 429s show.
    "CORTEX_CHAT_BACKLOG_CAP": "320",
    "CORTEX_CHAT_RETRY_AFTER_MAX_S": "10",
    # Celery's per-worker rate_limit drains a backlog at about one task a second whatever the
    # rate; the cluster-wide budgets (defaults) are the limits that count.
    "CORTEX_ALERTS_RATE_LIMIT": "0",
    "CORTEX_CHATS_RATE_LIMIT": "0",
}


def _prometheus_config(gateway: str, flower: str) -> str:
    def job(name: str, target: str) -> str:
        return (
            f"  - job_name: {name}\n    static_configs:\n"
            f'      - targets: ["{target}"]\n        labels: {{namespace: {NAMESPACE}}}\n'
        )

    head = f"global:\n  scrape_interval: {SCRAPE_INTERVAL_S}s\nscrape_configs:\n"
    return head + job("cortex-gateway", gateway) + job("cortex-flower", flower)


def _hostport(url: str) -> str:
    return url.removeprefix("http://")


class Stack:
    """cluster-cortex (bench.cortexstack) plus the embedder, Flower and Prometheus around it."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.cortex = CortexStack(
            "dashboard", workdir, persist=False, qdrant_path=workdir / "qdrant"
        )
        self._around: list[Child] = []
        self.flower_url = f"http://127.0.0.1:{free_port()}"
        self.embedder_url = f"http://127.0.0.1:{free_port()}"
        self.prometheus_url = f"http://127.0.0.1:{free_port()}"

    @property
    def gateway_url(self) -> str:
        """The gateway's base URL."""
        return self.cortex.url

    def start(self) -> None:
        """The embedder, cluster-cortex, Flower, Prometheus; each ready before the next."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
        # The word-hash double: the bench injects latency through its /_dev/config.
        embedder = cortex_argv(
            "embedder", "--word-hash", "--port", _port(self.embedder_url), "--dim", str(EMBED_DIM)
        )
        self._start("embedder", embedder, env, self.embedder_url + "/api/version")
        self.cortex.start(self.embedder_url, CORTEX_ENV)
        # Before any traffic: Flower turns task events into metrics only once it listens.
        flower = celery_argv("flower", f"--port={_port(self.flower_url)}", "--address=127.0.0.1")
        env["CORTEX_REDIS_URL"] = self.cortex.redis.url
        self._start("flower", flower, env, self.flower_url + "/healthcheck")
        self._start_prometheus()

    def configure_embedder(self, **settings: float) -> None:
        """Change the embedder's latency or faults for the calls that follow."""
        requests.post(self.embedder_url + "/_dev/config", json=settings, timeout=5)

    def query_range(self, expr: str, *, start: float, end: float, step_s: float) -> Any:
        """Prometheus's /api/v1/query_range result for one expression."""
        params: dict[str, str | float] = {"query": expr, "start": start, "end": end,
                                          "step": step_s}  # fmt: skip
        body = requests.get(self.prometheus_url + "/api/v1/query_range", params=params, timeout=30)
        body.raise_for_status()
        return body.json()["data"]["result"]

    def stop(self) -> None:
        """Stop what runs around cluster-cortex, then cluster-cortex and its Redis."""
        for child in reversed(self._around):
            child.stop(timeout_s=10)
        self.cortex.stop()

    def logs(self) -> str:
        """Every process's log tail, for a failed run."""
        around = "\n".join(f"== {c.name}\n{c.tail(20)}" for c in self._around)
        return f"{self.cortex.tails()}\n{around}"

    def _start_prometheus(self) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise RuntimeError("prometheus not found: run scripts/deploy-tools (as root)")
        config = self.workdir / "prometheus.yml"
        config.write_text(
            _prometheus_config(_hostport(self.gateway_url), _hostport(self.flower_url))
        )
        argv = [
            binary, f"--config.file={config}", f"--storage.tsdb.path={self.workdir / 'tsdb'}",
            f"--web.listen-address={_hostport(self.prometheus_url)}", "--log.level=warn",
        ]  # fmt: skip
        self._start("prometheus", argv, dict(os.environ), self.prometheus_url + "/-/ready")

    def _start(self, name: str, argv: list[str], env: dict[str, str], ready_url: str) -> None:
        child = Child(name, argv, env=env, log=self.workdir / "logs" / f"{name}.log")
        self._around.append(child)
        child.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(ready_url, timeout=1).ok:
                    return
            if not child.running():
                raise RuntimeError(f"{name} exited:\n{child.tail()}")
            time.sleep(0.2)
        raise TimeoutError(f"{name}: {ready_url} did not answer in {START_TIMEOUT_S}s")


def _port(url: str) -> str:
    return url.rsplit(":", 1)[1]
