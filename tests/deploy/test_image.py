"""The Dockerfile: multi-stage, slim, non-root, no compilers at run time, complete COPY list."""

import re
import tomllib

from tests.deploy.support import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def stages() -> list[str]:
    """The Dockerfile's stages, each from its FROM line on."""
    parts = re.split(r"(?m)^(?=FROM )", DOCKERFILE)
    return [part for part in parts if part.startswith("FROM ")]


def test_multi_stage_with_a_slim_python_runtime() -> None:
    found = stages()
    assert len(found) >= 2
    assert found[-1].splitlines()[0].strip() == "FROM python:3.11-slim"


def test_runtime_stage_has_no_compilers_and_runs_as_non_root() -> None:
    final = stages()[-1]
    assert not re.search(r"build-essential|\bgcc\b|\bg\+\+|\bclang\b", final)
    users = re.findall(r"(?m)^USER\s+(\S+)", final)
    assert users, "the runtime stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "numeric non-root, so runAsNonRoot can verify it"


def test_builder_copies_every_package_the_project_ships() -> None:
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    wanted = {pattern.rstrip("*") for pattern in include}
    copied = set(re.findall(r"(?m)^COPY (\w+) \./\1$", stages()[0]))
    assert wanted <= copied, f"the builder does not copy {wanted - copied}"


def test_dockerignore_is_an_allow_list() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # Ignoring everything first keeps secrets (deploy/compose.env), .git and .venv out even
    # when someone adds a new file.
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed <= {"pyproject.toml", "README.md", "common", "gateway", "workers"}
