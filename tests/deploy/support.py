"""Shared helpers for the deployment tests: paths, YAML loading and the offline validators."""

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from common import keys

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = sorted(p.parent for p in (ROOT / "k8s" / "overlays").glob("*/kustomization.yaml"))
INSTALL_HINT = "run scripts/deploy-tools (as root) to install the deploy validators"
# Names that must never appear in a probe or health check of cluster-cortex's own processes:
# a probe that depends on the embedder or the vector store restarts healthy pods when those
# are slow, which is how the incident's probe timeouts fed the spiral.
BACKENDS = ("ollama", "qdrant", "11434", "6333", "6334")


def tool(*names: str) -> str:
    """The first of `names` found on PATH or beside this interpreter; fail the test if none."""
    search = os.pathsep.join([os.environ.get("PATH", ""), str(Path(sys.executable).parent)])
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return found
    pytest.fail(f"{' or '.join(names)} not found: {INSTALL_HINT}")


def compose_argv() -> list[str]:
    """`docker-compose`, or `docker compose` where only the v2 plugin exists."""
    search = os.pathsep.join([os.environ.get("PATH", ""), str(Path(sys.executable).parent)])
    if found := shutil.which("docker-compose", path=search):
        return [found]
    docker = shutil.which("docker", path=search)
    if docker and run([docker, "compose", "version"], check=False).returncode == 0:
        return [docker, "compose"]
    pytest.fail(f"docker-compose not found: {INSTALL_HINT}")


def run(argv: list[str], *, check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a validator offline; on failure, fail the test with its output."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=90, **kwargs)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def load(path: Path) -> Any:
    """One YAML document."""
    return yaml.safe_load(path.read_text())


def load_all(text: str) -> list[dict[str, Any]]:
    """Every non-empty document of a multi-document YAML text."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def render(overlay: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize` of one kustomization, as parsed objects."""
    return load_all(run([tool("kubectl"), "kustomize", str(overlay)]).stdout)


def pod_specs(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every workload, CronJobs included."""
    for obj in objects:
        kind, spec = obj["kind"], obj.get("spec", {})
        name = f"{kind}/{obj['metadata']['name']}"
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
            yield name, spec["template"]["spec"]
        elif kind == "CronJob":
            yield name, spec["jobTemplate"]["spec"]["template"]["spec"]
        elif kind == "Pod":
            yield name, spec


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """Init and regular containers of a pod spec."""
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def documented_variables() -> set[str]:
    """Every CORTEX_ variable named in the README (its configuration table and text)."""
    return set(re.findall(r"CORTEX_[A-Z0-9_]+", (ROOT / "README.md").read_text()))


def heartbeat_check_passes(code: str, redis_url: str) -> bool:
    """Run a controller health check (`python -c CODE`) against a Redis; did it succeed?"""
    env = {**os.environ, "CORTEX_REDIS_URL": redis_url}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=env
    )
    return result.returncode == 0


def assert_heartbeat_check(code: str, redis_url: str) -> None:
    """The check fails without a heartbeat or with a stale one, and passes on a fresh one."""
    assert keys.CONTROLLER_HEARTBEAT in code, "the check must read the controller's heartbeat"
    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(keys.CONTROLLER_HEARTBEAT)
        assert not heartbeat_check_passes(code, redis_url), "passes with no heartbeat"
        client.set(keys.CONTROLLER_HEARTBEAT, time.time() - 45, ex=60)
        assert not heartbeat_check_passes(code, redis_url), "passes with a stale heartbeat"
        client.set(keys.CONTROLLER_HEARTBEAT, time.time(), ex=60)
        assert heartbeat_check_passes(code, redis_url), "fails with a fresh heartbeat"
    finally:
        client.close()
    # Redis down: the check fails (and must not hang past its own timeout).
    assert not heartbeat_check_passes(code, "redis://127.0.0.1:1/0")
