"""Real processes for behaviour tests: a Redis server, the dev embedder, gateway and workers."""

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
import requests

from common.cli.procs import Child, cortex_argv, free_port
from common.cli.redisserver import RedisServer
from common.embedding.devembedder import DevEmbedder


def wait_until(check: Callable[[], Any], *, timeout_s: float, what: str) -> Any:
    """Poll `check` until it returns something truthy; fail the test with `what` otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


class Stack:
    """One test's cluster-cortex: every component a real process on loopback."""

    def __init__(
        self, tmp: Path, redis_server: RedisServer, embedder: DevEmbedder, **env: str
    ) -> None:
        self.tmp = tmp
        self.redis_server = redis_server
        self.embedder = embedder
        self.gateway_url = ""
        self.children: list[Child] = []
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
        self.env = {
            **inherited,
            "PYTHONUNBUFFERED": "1",
            "CORTEX_REDIS_URL": redis_server.url,
            "CORTEX_OLLAMA_URL": embedder.url,
            "CORTEX_QDRANT_PATH": str(tmp / "qdrant"),
            # Celery's per-worker rate_limit drains a backlog at about one task a second
            # whatever the configured rate; tests that are not about it turn it off.
            "CORTEX_ALERTS_RATE_LIMIT": "0",
            "CORTEX_CHATS_RATE_LIMIT": "0",
            # Cluster-wide budgets far above any test's load, unless a test is about them.
            **{
                f"CORTEX_{k}_PER_MIN": "100000"
                for k in (
                    "ALERT_CALLS",
                    "ALERT_INPUTS",
                    "CHAT_CALLS",
                    "CHAT_INPUTS",
                    "SEARCH_CALLS",
                )
            },
            "CORTEX_CONTROLLER_INTERVAL_S": "0.5",
            # A loaded CI machine makes the dev embedder's latency jumpy: brownout would
            # park chats in tests that are not about it (test_protection sets its own).
            "CORTEX_BROWNOUT_LATENCY_RATIO": "1000",
            **env,
        }
        self.redis = redis.Redis.from_url(redis_server.url, socket_timeout=5)

    def _child(self, name: str, argv: list[str]) -> Child:
        child = Child(name, argv, env=self.env, log=self.tmp / "logs" / f"{name}.log")
        self.children.append(child)
        child.start()
        return child

    def worker(self, queues: str, *, concurrency: int | None = 1, name: str = "") -> Child:
        """Start `cortex worker` on the queues and wait until it is consuming.

        One process unless told otherwise; `concurrency=None` runs the product's default.
        """
        name = name or queues.replace(",", "+")
        args = ["worker", "--queues", queues, "--name", f"{name}@test"]
        if "store" not in queues and concurrency is not None:
            args += ["--concurrency", str(concurrency)]
        child = self._child(f"worker-{name}", cortex_argv(*args))
        child.wait_for_log("ready.", timeout_s=60)
        return child

    def gateway(self) -> Child:
        """Start `cortex gateway` on a free port and wait until /healthz answers."""
        port = free_port()
        self.env["CORTEX_GATEWAY_PORT"] = str(port)
        self.gateway_url = f"http://127.0.0.1:{port}"
        child = self._child("gateway", cortex_argv("gateway", "--log-level", "warning"))
        wait_until(lambda: self._answers("/healthz"), timeout_s=30, what="gateway /healthz")
        return child

    def controller(self) -> Child:
        """Start `cortex controller`, which replays parked work."""
        child = self._child("controller", cortex_argv("controller"))
        child.wait_for_log("controller running", timeout_s=30)
        return child

    def full(self) -> "Stack":
        """Gateway, one worker per queue and the controller."""
        self.worker("store")
        self.worker("alerts")
        self.worker("chats")
        self.controller()
        self.gateway()
        return self

    def learned(self, per_input_s: float = 0.05) -> None:
        """Record the backend's per-input latency as its first calls would have taught it.

        Until a call was observed, a call carries one input (the backend might be as slow as
        the seed's); tests about batching start from a backend whose speed is known.
        """
        self.redis.hset("cortex:limiter", "baseline", per_input_s)

    def _answers(self, path: str) -> bool:
        try:
            return requests.get(self.gateway_url + path, timeout=1).ok
        except requests.RequestException:
            return False

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        """POST JSON to the gateway."""
        return requests.post(self.gateway_url + path, json=body, timeout=10, **kwargs)

    def stats(self) -> dict[str, Any]:
        """The gateway's /v1/stats."""
        body: dict[str, Any] = requests.get(self.gateway_url + "/v1/stats", timeout=10).json()
        return body

    def search(self, q: str, **params: Any) -> list[dict[str, Any]]:
        """Search through the gateway; the result list."""
        response = requests.get(
            self.gateway_url + "/v1/search", params={"q": q, **params}, timeout=30
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def wait_stored(self, kind: str, n: int, *, timeout_s: float = 60) -> None:
        """Wait until the store reports `n` points of a kind and the queues are idle."""

        def done() -> bool:
            s = self.stats()
            idle = all(q["depth"] == 0 for q in s["queues"].values()) and s["in_flight"] == 0
            return bool(s["stored"][kind] >= n and idle)

        wait_until(done, timeout_s=timeout_s, what=f"{n} stored {kind} points")

    def close(self) -> None:
        """Stop every process this stack started."""
        for child in reversed(self.children):
            child.stop()
        self.redis.close()

    def logs(self) -> str:
        """Every child's log tail, for failure messages."""
        return "\n".join(f"== {c.name}\n{c.tail()}" for c in self.children)
