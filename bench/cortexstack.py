"""cluster-cortex's own processes for a benchmark, on loopback, as tests/support/stack.py runs them.

A throwaway redis-server, `cortex worker` for the store, alerts and chats queues, `cortex
controller` and `cortex gateway`, each with its log file. Every benchmark passes the CORTEX_
settings it changes (each with its reason, in its own module); the rest are the README's.
"""

import contextlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import requests

from common.cli.procs import Child, cortex_argv, free_port
from common.cli.redisserver import RedisServer

START_TIMEOUT_S = 90
_STOP_GRACE_S = 10


def components(tag: str) -> list[tuple[str, list[str]]]:
    """Name and `cortex` arguments of each process; workers are named `queue@tag`."""
    return [
        ("worker-store", ["worker", "--queues", "store", "--name", f"store@{tag}"]),
        ("worker-alerts", ["worker", "--queues", "alerts", "--name", f"alerts@{tag}"]),
        ("worker-chats", ["worker", "--queues", "chats", "--name", f"chats@{tag}"]),
        ("controller", ["controller"]),
        ("gateway", ["gateway", "--log-level", "warning"]),
    ]


class CortexStack:
    """Starts the processes (Redis first), waits until each is ready, stops them in parallel."""

    def __init__(self, tag: str, workdir: Path, *, persist: bool, qdrant_path: Path) -> None:
        self.redis = RedisServer(port=free_port(), data_dir=workdir / "redis", persist=persist)
        self.url = f"http://127.0.0.1:{free_port()}"
        self.children: list[Child] = []
        self._tag, self._logs, self._qdrant_path = tag, workdir / "logs", qdrant_path

    def start(self, embed_url: str, settings: dict[str, str]) -> None:
        """Start Redis and every process with these CORTEX_ settings; wait until all are ready."""
        self.redis.start()
        env = self._env(embed_url, settings)
        for name, args in components(self._tag):
            child = Child(name, cortex_argv(*args), env=env, log=self._logs / f"{name}.log")
            self.children.append(child)
            child.start()
        for child in self.children:
            if child.name.startswith("worker"):
                child.wait_for_log("ready.", timeout_s=START_TIMEOUT_S)
            elif child.name == "controller":
                child.wait_for_log("controller running", timeout_s=START_TIMEOUT_S)
        self._wait_gateway()

    def stats(self, *, timeout_s: float = 5) -> dict[str, Any]:
        """The gateway's `/v1/stats`; an empty dict if it does not answer."""
        with contextlib.suppress(requests.RequestException, ValueError):
            body: dict[str, Any] = requests.get(self.url + "/v1/stats", timeout=timeout_s).json()
            return body
        return {}

    def stop(self) -> None:
        """SIGTERM every process at once, SIGKILL after a grace period; then stop Redis."""
        for child in self.children:
            child.signal(signal.SIGTERM)
        threads = [threading.Thread(target=c.stop, kwargs={"timeout_s": _STOP_GRACE_S})
                   for c in self.children]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.redis.stop()

    def tails(self, lines: int = 20) -> str:
        """Every process's log tail, for a failed run."""
        return "\n".join(f"== {c.name}\n{c.tail(lines)}" for c in self.children)

    def _env(self, embed_url: str, settings: dict[str, str]) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
        return {
            **inherited,
            "PYTHONUNBUFFERED": "1",
            "CORTEX_REDIS_URL": self.redis.url,
            "CORTEX_OLLAMA_URL": embed_url,
            "CORTEX_QDRANT_PATH": str(self._qdrant_path),
            "CORTEX_GATEWAY_HOST": "127.0.0.1",
            "CORTEX_GATEWAY_PORT": self.url.rsplit(":", 1)[1],
            **settings,
        }

    def _wait_gateway(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/readyz", timeout=1).ok:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"gateway not ready in {START_TIMEOUT_S}s:\n{self.tails()}")
