"""`cortex dev` on embedded defaults: the real model, and the README's example found by meaning."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import psutil
import redis

from common import keys
from common.cli.procs import free_port
from tests.support.stack import wait_until

ROOT = Path(__file__).resolve().parents[2]
# The README's question: it shares no key word with the sample alert (mail/mailu-front, crash
# looping, liveness probe), so only a model that reads meaning puts that alert first.
PARAPHRASE = "email gateway stuck in a restart loop"


def cortex(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "common.cli", *args], env=env, cwd=cwd,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def dev_env(gateway_port: int) -> dict[str, str]:
    """`cortex dev`'s environment: free ports, no Ollama (so the embedded model runs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
    return env | {
        "CORTEX_GATEWAY_PORT": str(gateway_port),
        "CORTEX_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
        "CORTEX_FLOWER_PORT": str(free_port()),
        "CORTEX_OLLAMA_URL": f"http://127.0.0.1:{free_port()}",  # nobody there: embedded model
        "PYTHONUNBUFFERED": "1",
    }


def start_dev(env: dict[str, str], cwd: Path, log: IO[str]) -> subprocess.Popen[bytes]:
    """Start `cortex dev` in `cwd`, its output to `log`."""
    return subprocess.Popen(
        [sys.executable, "-m", "common.cli", "dev"], env=env, cwd=cwd,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def wait_running(dev: subprocess.Popen[bytes], output: Callable[[], str]) -> None:
    """Wait until `cortex dev` says it is running; fail with its output if it exits."""
    wait_until(lambda: "cluster-cortex is running" in output() or dev.poll() is not None,
               timeout_s=120, what="cortex dev to start")  # fmt: skip
    assert dev.poll() is None, output()


def post_alert(path: Path, gateway_port: int) -> str:
    """curl the notification at `path` to the webhook, as the README does."""
    return subprocess.run(
        ["curl", "-sS", "-XPOST", "-H", "Content-Type: application/json",
         "--data", f"@{path}", f"http://127.0.0.1:{gateway_port}/v1/alerts/alertmanager"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip


def disk_alert(tmp_path: Path) -> Path:
    """The sample notification turned into an unrelated alert: a node's disk filling up."""
    notification = json.loads((ROOT / "examples" / "alert.json").read_text())
    notification["alerts"][0] |= {
        "labels": {"alertname": "NodeFilesystemAlmostOutOfSpace", "severity": "warning",
                   "node": "node03", "mountpoint": "/var/lib/longhorn"},
        "annotations": {"summary": "Filesystem on node03 is almost full",
                        "description": "/var/lib/longhorn has 3.1% available space left."},
        "fingerprint": "aa00bb11cc22dd33",
    }  # fmt: skip
    path = tmp_path / "disk.json"
    path.write_text(json.dumps(notification))
    return path


def test_cortex_dev_serves_and_the_sample_alert_is_found(tmp_path: Path) -> None:
    gateway_port = 8080 if _free(8080) else free_port()
    env = dev_env(gateway_port)
    log = (tmp_path / "dev.out").open("w")
    dev = start_dev(env, tmp_path, log)
    try:
        output = lambda: (tmp_path / "dev.out").read_text()  # noqa: E731
        wait_running(dev, output)
        assert "serving the embedded model all-minilm:l6-v2 (384 dimensions" in output()
        assert "NOT a real model" not in output()
        assert '"accepted":1' in post_alert(ROOT / "examples" / "alert.json", gateway_port)
        assert '"accepted":1' in post_alert(disk_alert(tmp_path), gateway_port)

        def found() -> bool:
            result = cortex("search", PARAPHRASE, "--json", env=env, cwd=tmp_path)
            hits = json.loads(result.stdout or "[]")
            names = [hit["payload"].get("alertname") for hit in hits]
            return len(hits) == 2 and names[0] == "KubePodCrashLooping"

        wait_until(found, timeout_s=60, what="the paraphrase to find the sample alert first")
        status = cortex("status", "--json", env=env, cwd=tmp_path)
        assert '"alert": 2' in status.stdout, status.stdout + status.stderr
        assert '"controller_heartbeat_age_s": null' not in status.stdout  # it runs in dev too
        # Every operator command reads the folder's embedded Redis, dead letters included.
        url = (tmp_path / ".cortex" / "redis.url").read_text().strip()
        entry = {"task": "cortex.embed_alerts", "args": [[{}]], "retries": 3, "reason": "probe"}
        redis.Redis.from_url(url).lpush(keys.DEAD_LETTERS, json.dumps(entry))
        letters = cortex("dead-letters", env=env, cwd=tmp_path)
        assert "3 retries): probe" in letters.stdout, letters.stdout + letters.stderr
    finally:
        children = psutil.Process(dev.pid).children(recursive=True)
        os.killpg(dev.pid, signal.SIGINT)  # Ctrl-C in the terminal
        dev.wait(timeout=60)
        log.close()
    time.sleep(1)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


def test_sigkill_of_cortex_dev_leaves_no_process_behind(tmp_path: Path) -> None:
    log = (tmp_path / "dev.out").open("w")
    dev = start_dev(dev_env(free_port()), tmp_path, log)
    procs: list[psutil.Process] = []
    try:
        wait_running(dev, (tmp_path / "dev.out").read_text)
        # Celery forks its pool children before it logs "ready.": wait, to record them too.
        logs = [tmp_path / ".cortex" / "logs" / f"worker-{q}.log" for q in ("alerts", "chats")]
        wait_until(lambda: all("ready." in path.read_text() for path in logs), timeout_s=60,
                   what="the alerts and chats workers")  # fmt: skip
        procs = psutil.Process(dev.pid).children(recursive=True)
        assert any(p.ppid() != dev.pid for p in procs), "no pool children recorded"
        os.kill(dev.pid, signal.SIGKILL)  # the process only, as the OOM killer does
        dev.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(procs) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(procs), f"still running 10 s after: {_describe(_alive(procs))}"
    finally:
        if dev.poll() is None:
            procs += psutil.Process(dev.pid).children(recursive=True)
            dev.kill()
            dev.wait(timeout=10)
        _kill_all(_alive(procs))
        log.close()


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    """The processes still running; a zombie has exited, it only waits to be reaped."""
    alive = []
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
    return alive


def _describe(procs: list[psutil.Process]) -> list[str]:
    described = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            described.append(f"{proc.pid} {' '.join(proc.cmdline()[:6])}")
    return described


def _kill_all(procs: list[psutil.Process]) -> None:
    """SIGKILL the processes and everything they started, so a failed test leaks nothing."""
    everything = list(procs)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            everything += proc.children(recursive=True)
    for proc in everything:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def _free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0
