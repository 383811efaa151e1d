"""Shared helpers for the deployment tests: paths, YAML loading and the offline validators."""

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

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
