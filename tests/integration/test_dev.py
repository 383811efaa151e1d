"""`cortex dev` on embedded defaults: the README's curl of a sample alert is found by search."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from common.cli.procs import free_port
from tests.support.stack import wait_until

ROOT = Path(__file__).resolve().parents[2]


def cortex(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "common.cli", *args], env=env, cwd=cwd,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_cortex_dev_serves_and_the_sample_alert_is_found(tmp_path: Path) -> None:
    gateway_port = 8080 if _free(8080) else free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
    env |= {
        "CORTEX_GATEWAY_PORT": str(gateway_port),
        "CORTEX_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
        "CORTEX_FLOWER_PORT": str(free_port()),
        "CORTEX_OLLAMA_URL": f"http://127.0.0.1:{free_port()}",  # nobody there: dev embedder
        "PYTHONUNBUFFERED": "1",
    }
    log = (tmp_path / "dev.out").open("w")
    dev = subprocess.Popen(
        [sys.executable, "-m", "common.cli", "dev"], env=env, cwd=tmp_path,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        output = lambda: (tmp_path / "dev.out").read_text()  # noqa: E731
        wait_until(lambda: "cluster-cortex is running" in output() or dev.poll() is not None,
                   timeout_s=120, what="cortex dev to start")  # fmt: skip
        assert dev.poll() is None, output()
        assert "NOT a real model" in output()
        posted = subprocess.run(
            ["curl", "-sS", "-XPOST", "-H", "Content-Type: application/json",
             "--data", f"@{ROOT / 'examples' / 'alert.json'}",
             f"http://127.0.0.1:{gateway_port}/v1/alerts/alertmanager"],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        assert '"accepted":1' in posted.stdout

        def found() -> bool:
            result = cortex("search", "mailu front crash looping", env=env, cwd=tmp_path)
            return "KubePodCrashLooping" in result.stdout

        wait_until(found, timeout_s=60, what="cortex search to find the sample alert")
        status = cortex("status", "--json", env=env, cwd=tmp_path)
        assert '"alert": 1' in status.stdout, status.stdout + status.stderr
        assert '"controller_heartbeat_age_s": null' not in status.stdout  # it runs in dev too
    finally:
        children = psutil.Process(dev.pid).children(recursive=True)
        os.killpg(dev.pid, signal.SIGINT)  # Ctrl-C in the terminal
        dev.wait(timeout=60)
        log.close()
    time.sleep(1)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


def _free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0
