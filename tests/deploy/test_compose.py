"""docker-compose.yml: validated by docker-compose, and the isolation properties hold."""

import os
from typing import Any

import pytest

from common.cli.redisserver import RedisServer
from tests.deploy.support import (
    BACKENDS,
    ROOT,
    assert_heartbeat_check,
    compose_argv,
    documented_variables,
    load,
    run,
)

COMPOSE = ROOT / "docker-compose.yml"
CORTEX_IMAGE = "cluster-cortex:local"
# Services that run someone else's image.
OTHER_IMAGES = {"redis", "qdrant", "ollama", "ollama-pull", "prometheus", "grafana"}
# Every long-running service of the stack; the ingest job and ollama-pull are one-shots.
EXPECTED_SERVICES = {
    "redis",
    "qdrant",
    "ollama",
    "ollama-pull",
    "gateway",
    "worker-alerts",
    "worker-chats",
    "worker-store",
    "controller",
    "flower",
    "ingest",
    # Only with --profile observability (tests/deploy/test_grafana.py).
    "prometheus",
    "grafana",
}


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    """The compose services, YAML anchors resolved."""
    return load(COMPOSE)["services"]  # type: ignore[no-any-return]


def test_compose_config_validates() -> None:
    env = {**os.environ, "CORTEX_COMPOSE_ENV_FILE": "deploy/compose.env.example"}
    run([*compose_argv(), "-f", str(COMPOSE), "config", "-q"], cwd=ROOT, env=env)


def test_the_stack_has_every_component(services: dict) -> None:
    assert set(services) == EXPECTED_SERVICES
    for name in EXPECTED_SERVICES - OTHER_IMAGES:
        assert services[name]["image"] == CORTEX_IMAGE, name


def test_every_service_has_cpu_and_memory_limits_and_reservations(services: dict) -> None:
    for name, svc in services.items():
        resources = svc.get("deploy", {}).get("resources", {})
        for part in ("limits", "reservations"):
            got = resources.get(part, {})
            assert {"cpus", "memory"} <= got.keys(), f"{name}: deploy.resources.{part} {got}"


def test_every_long_running_service_has_a_health_check(services: dict) -> None:
    for name, svc in services.items():
        check = svc.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        if check.get("disable"):
            assert svc.get("restart") == "no", f"{name}: only one-shot jobs may disable it"
        else:
            assert check.get("test"), f"{name}: healthcheck without a test"


def test_cortex_health_checks_never_touch_ollama_or_qdrant(services: dict) -> None:
    for name, svc in services.items():
        if svc.get("image") != CORTEX_IMAGE:
            continue
        probe = str(svc.get("healthcheck", {}).get("test", "")).lower()
        assert not [b for b in BACKENDS if b in probe], f"{name}: {probe}"


def test_dependencies_wait_for_health_or_completion(services: dict) -> None:
    for name, svc in services.items():
        deps = svc.get("depends_on", {})
        assert isinstance(deps, dict), f"{name}: depends_on must carry conditions"
        for dep, spec in deps.items():
            condition = spec.get("condition")
            assert condition in ("service_healthy", "service_completed_successfully"), name
            if condition == "service_healthy":
                assert not services[dep]["healthcheck"].get("disable"), f"{name} -> {dep}"


def test_gateway_does_not_wait_for_ollama_or_qdrant(services: dict) -> None:
    # Intake must accept alerts while the embedder or the vector store is down.
    assert set(services["gateway"]["depends_on"]) == {"redis"}


def test_redis_persists_with_aof_and_never_evicts(services: dict) -> None:
    command = services["redis"]["command"]
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command


def test_ollama_is_capped_and_bounded(services: dict) -> None:
    env = services["ollama"]["environment"]
    assert {"OLLAMA_NUM_PARALLEL", "OLLAMA_MAX_QUEUE"} <= env.keys()
    pull = services["ollama-pull"]
    assert pull["restart"] == "no"
    for worker in ("worker-alerts", "worker-chats"):
        dep = services[worker]["depends_on"]["ollama-pull"]
        assert dep["condition"] == "service_completed_successfully"


def test_workers_have_separate_queues_and_concurrency(services: dict) -> None:
    assert services["worker-alerts"]["command"][-2:] == ["--queues", "alerts"]
    assert services["worker-chats"]["command"][-2:] == ["--queues", "chats"]
    for worker in ("worker-alerts", "worker-chats"):
        env = services[worker]["environment"]
        # Processes follow the cap the CPU budget allows; nobody pins them below it.
        assert not {"CORTEX_ALERTS_CONCURRENCY", "CORTEX_CHATS_CONCURRENCY"} & set(env)
    store = services["worker-store"]
    # More than one store process is safe only against a Qdrant server.
    assert "--concurrency" in store["command"]
    assert store["environment"]["CORTEX_QDRANT_URL"].startswith("http")


def test_controller_is_small_and_needs_only_redis(services: dict) -> None:
    controller = services["controller"]
    assert controller["command"] == ["cortex", "controller"]
    # It only moves messages between Redis lists, and has no HTTP port.
    assert set(controller["depends_on"]) == {"redis"}
    assert "ports" not in controller
    assert controller["environment"]["CORTEX_REDIS_URL"] == "redis://redis:6379/0"
    limits = controller["deploy"]["resources"]["limits"]
    assert float(limits["cpus"]) <= 0.25
    assert limits["memory"] in ("64M", "128M", "192M", "256M")
    assert controller.get("scale", 1) == 1


def test_controller_health_check_reads_a_fresh_heartbeat(
    services: dict, clean_redis: RedisServer
) -> None:
    test = services["controller"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    assert_heartbeat_check(test[3], clean_redis.url)


def test_ingest_job_runs_only_under_its_profile(services: dict) -> None:
    ingest = services["ingest"]
    assert ingest["profiles"] == ["ingest"]
    assert ingest["command"][:2] == ["cortex", "ingest-chats"]
    assert ingest["restart"] == "no"
    # It asks the gateway what it already has: a Redis URL could only name someone else's state.
    assert ingest["environment"] == {"CORTEX_GATEWAY_URL": "http://gateway:8080"}


def test_only_documented_cortex_variables_are_set(services: dict) -> None:
    known = documented_variables()
    for name, svc in services.items():
        for var in svc.get("environment", {}):
            if var.startswith("CORTEX_"):
                assert var in known, f"{name}: {var} is not in the README"


def test_named_volumes_are_declared() -> None:
    spec = load(COMPOSE)
    declared = set(spec["volumes"])
    for name, svc in spec["services"].items():
        for mount in svc.get("volumes", []):
            source = mount.split(":", 1)[0]
            if not source.startswith(("/", ".", "$")):
                assert source in declared, f"{name}: volume {source} not declared"


def test_env_example_holds_placeholders_only() -> None:
    example = (ROOT / "deploy" / "compose.env.example").read_text().splitlines()
    values = dict(line.split("=", 1) for line in example if line and not line.startswith("#"))
    assert {"CORTEX_WEBHOOK_TOKEN", "FLOWER_BASIC_AUTH"} <= values.keys()
    assert all("change-me" in value for value in values.values()), values


def test_the_client_cpu_cap_fits_ollamas_cpu_limit(services: dict) -> None:
    env = services["worker-alerts"]["environment"]
    ollama_cpus = float(services["ollama"]["deploy"]["resources"]["limits"]["cpus"])
    threads, budget = int(env["CORTEX_EMBED_NUM_THREAD"]), float(env["CORTEX_EMBED_CPU_BUDGET"])
    assert threads <= budget <= ollama_cpus
    # The derived model's thread count is the one every call asks for.
    assert f"PARAMETER num_thread {threads}" in " ".join(services["ollama-pull"]["command"])
