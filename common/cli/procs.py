"""Child processes of `cortex dev`: started with their own environment, stopped together."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from common.cli.lifeline import parent_death_hook


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cortex_argv(*args: str) -> list[str]:
    """argv running this interpreter's `cortex` with arguments."""
    return [sys.executable, "-m", "common.cli", *args]


def celery_argv(*args: str) -> list[str]:
    """argv running the stock celery CLI on the workers app."""
    return [sys.executable, "-m", "celery", "-A", "workers.app", *args]


class Child:
    """One named child process, output to a log file; sent `on_parent_death` if we die first."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str],
        log: Path,
        on_parent_death: int = signal.SIGKILL,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.log = log
        # SIGKILL by default: with the parent gone nobody waits for a graceful stop. Celery's
        # warm shutdown waits for running tasks (minutes); its cold one hung publishing the
        # offline event to a Redis that died at the same moment. Unacked tasks stay in Redis.
        self.on_parent_death = on_parent_death
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process in its own process group, output appended to its log."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=parent_death_hook(self.on_parent_death),
            )  # fmt: skip

    def running(self) -> bool:
        """True while the process has not exited."""
        return self.proc is not None and self.proc.poll() is None

    def wait_for_log(self, text: str, *, timeout_s: float) -> None:
        """Block until `text` appears in the log; raise if the process exits first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.log.exists() and text in self.log.read_text(errors="replace"):
                return
            if not self.running():
                raise RuntimeError(f"{self.name} exited; its log:\n{self.tail()}")
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} did not log {text!r} in {timeout_s}s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        """The last lines of the log."""
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def signal(self, sig: int) -> None:
        """Send a signal to the process group (celery's pool children included)."""
        if self.proc is not None and self.running():
            os.killpg(self.proc.pid, sig)

    def stop(self, *, timeout_s: float = 15.0) -> None:
        """SIGTERM (a warm shutdown for celery), then SIGKILL after `timeout_s`."""
        if self.proc is None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait()
