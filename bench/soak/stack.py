"""cluster-cortex under test: a throwaway redis-server with AOF and the real processes.

`cortex worker` for alerts, chats and store, `cortex controller` and `cortex gateway`, as
`tests/support/stack.py` starts them. Settings are the README's defaults (the visibility
timeout among them) except those in `cortex_env`, each with the reason it differs.
"""

import contextlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import redis
import requests

from bench.soak.params import Params
from common.cli.procs import Child, cortex_argv, free_port
from common.cli.redisserver import RedisServer

_START_TIMEOUT_S = 90
QUERY_PREFIX = "search_query: "  # CORTEX_EMBED_QUERY_PREFIX's default


def cortex_env(params: Params) -> dict[str, str]:
    """The CORTEX_ settings that differ from the README's defaults, and why."""
    return {
        # A few processes (default 2), so several alert tasks are running or prefetched, i.e.
        # in kombu's unacked hash, whenever Redis goes away.
        "CORTEX_ALERTS_CONCURRENCY": str(params.alert_processes),
        # 5 distinct alerts/s of one alertname is a storm by the default (20 per 60 s): storm
        # digests embed many alerts as one input, so neither each alert's embeddings nor its
        # stored point would be observable one by one.
        "CORTEX_STORM_THRESHOLD": "1000000",
        # The benchmark reads "stored" through /v1/search, a few searches a second at most;
        # the interactive budget (60/min) must not refuse the instrument's own reads.
        "CORTEX_SEARCH_CALLS_PER_MIN": "100000",
    }


def _components() -> list[tuple[str, list[str]]]:
    return [
        ("worker-store", ["worker", "--queues", "store", "--name", "store@soak"]),
        ("worker-alerts", ["worker", "--queues", "alerts", "--name", "alerts@soak"]),
        ("worker-chats", ["worker", "--queues", "chats", "--name", "chats@soak"]),
        ("controller", ["controller"]),
        ("gateway", ["gateway", "--log-level", "warning"]),
    ]


class Stack:
    """Starts, restarts (Redis) and stops the processes; reads `/v1/stats`."""

    def __init__(self, params: Params, workdir: Path) -> None:
        self._params = params
        self.workdir = workdir
        self.redis_server = RedisServer(port=free_port(), data_dir=workdir / "redis", persist=True)
        self._children: list[Child] = []
        self.url = f"http://127.0.0.1:{free_port()}"

    @property
    def alerts_url(self) -> str:
        """The gateway's Alertmanager webhook."""
        return self.url + "/v1/alerts/alertmanager"

    def start(self, embed_url: str) -> None:
        """Start Redis, the workers, the controller and the gateway; wait until all are ready."""
        self.redis_server.start()
        env = self._env(embed_url)
        for name, args in _components():
            log = self.workdir / "logs" / f"{name}.log"
            child = Child(name, cortex_argv(*args), env=env, log=log)
            self._children.append(child)
            child.start()
        for child in self._children:
            if child.name.startswith("worker"):
                child.wait_for_log("ready.", timeout_s=_START_TIMEOUT_S)
            elif child.name == "controller":
                child.wait_for_log("controller running", timeout_s=_START_TIMEOUT_S)
        self._wait_ready()

    def redis(self) -> redis.Redis:
        """A new client of the throwaway Redis (the caller closes it)."""
        return redis.Redis.from_url(self.redis_server.url, socket_timeout=5)

    def stats(self) -> dict[str, Any]:
        """The gateway's `/v1/stats`; an empty dict if it does not answer."""
        with contextlib.suppress(requests.RequestException, ValueError):
            body: dict[str, Any] = requests.get(self.url + "/v1/stats", timeout=3).json()
            return body
        return {}

    def dead(self) -> list[str]:
        """Components that exited by themselves."""
        return [c.name for c in self._children if c.proc is not None and not c.running()]

    def logs(self) -> dict[str, Path]:
        """Each component's log file."""
        return {c.name: c.log for c in self._children}

    def stop(self) -> None:
        """Stop every process (in parallel, SIGKILL after a grace period) and Redis."""
        for child in self._children:
            child.signal(signal.SIGTERM)
        threads = [
            threading.Thread(target=c.stop, kwargs={"timeout_s": 10}) for c in self._children
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.redis_server.stop()

    def _env(self, embed_url: str) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
        return {
            **inherited,
            "PYTHONUNBUFFERED": "1",
            "CORTEX_REDIS_URL": self.redis_server.url,
            "CORTEX_OLLAMA_URL": embed_url,
            "CORTEX_QDRANT_PATH": str(self.workdir / "qdrant"),
            "CORTEX_GATEWAY_HOST": "127.0.0.1",
            "CORTEX_GATEWAY_PORT": self.url.rsplit(":", 1)[1],
            **cortex_env(self._params),
        }

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/readyz", timeout=1).ok:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"gateway not ready in {_START_TIMEOUT_S}s")
