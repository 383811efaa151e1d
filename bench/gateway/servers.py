"""The two servers under test, each a child process on loopback: the baseline and `cortex gateway`.

Both run one uvicorn process with the same settings and push to the same throwaway Redis;
nothing consumes what they queue.
"""

import os
import re
import sys
import time
from pathlib import Path

import requests

from bench.gateway.params import NO_STORM_THRESHOLD
from common.cli.procs import Child, cortex_argv, free_port

_START_TIMEOUT_S = 60
_ACCEPTED = re.compile(
    r'^cortex_gateway_items_total\{kind="alert",outcome="accepted"\} (\S+)$', re.MULTILINE
)
PATH = "/v1/alerts/alertmanager"


class ServerFailed(RuntimeError):
    """A server exited or did not become ready."""


def gateway_env(redis_url: str, *, storm_threshold: int) -> dict[str, str]:
    """The CORTEX_ settings the gateway runs with (everything else is the README's default)."""
    return {
        "CORTEX_REDIS_URL": redis_url,
        "CORTEX_STORM_THRESHOLD": str(storm_threshold),
    }


class Server:
    """One server under test: started, waited for until ready, measured, stopped."""

    def __init__(self, name: str, argv: list[str], *, port: int, env: dict[str, str], log: Path):
        self.name = name
        self.port = port
        self._child = Child(name, argv, env=env, log=log)

    @property
    def url(self) -> str:
        """The Alertmanager webhook URL."""
        return f"http://127.0.0.1:{self.port}{PATH}"

    @property
    def pid(self) -> int:
        """The serving process (uvicorn runs in it: no workers, no reloader)."""
        if self._child.proc is None:
            raise ServerFailed(f"{self.name} is not running")
        return self._child.proc.pid

    def start(self) -> None:
        """Start the process and wait until `GET /readyz` answers 200 (Redis reachable)."""
        self._child.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if not self._child.running():
                raise ServerFailed(f"{self.name} exited on start; its log:\n{self._child.tail()}")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise ServerFailed(f"{self.name} not ready in {_START_TIMEOUT_S}s:\n{self._child.tail()}")

    def check(self) -> None:
        """Raise if the process has exited (a crash under load)."""
        if not self._child.running():
            raise ServerFailed(f"{self.name} exited under load; its log:\n{self._child.tail()}")

    def accepted_alerts(self) -> int:
        """The gateway's count of accepted alerts so far, from `/metrics` (answered or not)."""
        text = requests.get(f"http://127.0.0.1:{self.port}/metrics", timeout=10).text
        found = _ACCEPTED.search(text)
        # prometheus_client shows a labelled series only once it was first incremented.
        return int(float(found.group(1))) if found else 0

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period."""
        self._child.stop(timeout_s=10)


def _inherited() -> dict[str, str]:
    # No CORTEX_ variable of the caller's shell (a token, thresholds) may change the gateway.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
    return {**env, "PYTHONUNBUFFERED": "1"}


def baseline_server(redis_url: str, logs: Path) -> Server:
    """The bare FastAPI endpoint doing one LPUSH (bench/gateway/baseline.py)."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.gateway.baseline", "--port", str(port),
            "--redis-url", redis_url]  # fmt: skip
    return Server("baseline", argv, port=port, env=_inherited(), log=logs / "baseline.log")


def gateway_server(
    redis_url: str,
    logs: Path,
    *,
    storm_threshold: int | None,
    extra_env: dict[str, str] | None = None,
) -> Server:
    """`cortex gateway`; `storm_threshold` None puts storm detection out of reach."""
    port = free_port()
    threshold = NO_STORM_THRESHOLD if storm_threshold is None else storm_threshold
    env = {
        **_inherited(),
        **gateway_env(redis_url, storm_threshold=threshold),
        **(extra_env or {}),
        "CORTEX_GATEWAY_HOST": "127.0.0.1",
        "CORTEX_GATEWAY_PORT": str(port),
    }
    argv = cortex_argv("gateway", "--log-level", "warning")
    return Server("gateway", argv, port=port, env=env, log=logs / "gateway.log")
