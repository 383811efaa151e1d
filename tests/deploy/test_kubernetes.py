"""k8s/: every overlay renders, validates against Kubernetes' schemas and keeps its isolation."""

from pathlib import Path
from typing import Any

import pytest

from common.cli.redisserver import RedisServer
from tests.deploy.support import (
    BACKENDS,
    OVERLAYS,
    ROOT,
    assert_heartbeat_check,
    containers,
    documented_variables,
    load,
    pod_specs,
    render,
    run,
    tool,
)

# Oldest Kubernetes the manifests target (CronJob timeZone is GA from 1.27), and the newest
# schemas kubernetes-validate ships.
K8S_VERSIONS = ("1.28.0", None)
# The stand-in for a user's own Ollama (k8s/overlays/existing-ollama) is not ours to harden.
NOT_OURS = {"ollama"}
# cluster-cortex's long-running workloads, as the base ships them.
DEPLOYMENTS = {
    "cortex-gateway",
    "cortex-worker-alerts",
    "cortex-worker-chats",
    "cortex-worker-store",
    "cortex-controller",
    "cortex-flower",
}


@pytest.fixture(scope="module", params=OVERLAYS, ids=lambda p: p.name)
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    """One overlay, rendered by `kubectl kustomize`."""
    return render(request.param)


@pytest.fixture(scope="module")
def example() -> list[dict[str, Any]]:
    """The example overlay: cluster-cortex as a user deploys it."""
    return render(ROOT / "k8s" / "overlays" / "example")


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """Objects of one kind by name."""
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_there_are_overlays() -> None:
    assert {p.name for p in OVERLAYS} >= {"example", "existing-ollama"}


@pytest.mark.parametrize("version", K8S_VERSIONS, ids=lambda v: v or "latest")
@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_overlay_validates_against_kubernetes_schemas(
    overlay: Path, version: str | None, tmp_path: Path
) -> None:
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(run([tool("kubectl"), "kustomize", str(overlay)]).stdout)
    pinned = ["-k", version] if version else []
    run([tool("kubernetes-validate"), "--strict", "--quiet", "--no-warn", *pinned, str(manifest)])


def test_every_container_has_cpu_and_memory_requests_and_limits(rendered: list) -> None:
    for name, pod in pod_specs(rendered):
        for c in containers(pod):
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                got = res.get(part, {})
                assert {"cpu", "memory"} <= got.keys(), f"{name}/{c['name']}: {part} {got}"


def test_probes_never_reference_ollama_or_qdrant(rendered: list) -> None:
    for name, pod in pod_specs(rendered):
        if name.split("/")[1] in NOT_OURS:
            continue
        for c in containers(pod):
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                text = str(c.get(probe, "")).lower()
                assert not [b for b in BACKENDS if b in text], f"{name}/{c['name']} {probe}"


def test_pods_run_non_root_without_capabilities(rendered: list) -> None:
    for name, pod in pod_specs(rendered):
        if name.split("/")[1] in NOT_OURS:
            continue
        assert pod.get("securityContext", {}).get("runAsNonRoot") is True, name
        for c in containers(pod):
            sc = c.get("securityContext", {})
            assert sc.get("allowPrivilegeEscalation") is False, f"{name}/{c['name']}"
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], f"{name}/{c['name']}"
            assert sc.get("readOnlyRootFilesystem") is True, f"{name}/{c['name']}"


def test_no_secret_carries_a_real_value(rendered: list) -> None:
    for secret in by_kind(rendered, "Secret").values():
        values = {**secret.get("data", {}), **secret.get("stringData", {})}
        assert all("change-me" in str(v) for v in values.values()), secret["metadata"]["name"]


def test_secret_references_match_the_example_secret(example: list) -> None:
    sample = load(ROOT / "k8s" / "overlays" / "example" / "secret.example.yaml")
    assert all(
        v.startswith(("change-me", "admin:change-me")) for v in sample["stringData"].values()
    )
    for name, pod in pod_specs(example):
        for c in containers(pod):
            for env in c.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == sample["metadata"]["name"], name
                    assert ref["key"] in sample["stringData"], f"{name}: {ref['key']}"


def test_only_documented_cortex_variables_are_set(example: list) -> None:
    known = documented_variables()
    names = set(by_kind(example, "ConfigMap")["cortex-config"]["data"])
    for _, pod in pod_specs(example):
        names |= {env["name"] for c in containers(pod) for env in c.get("env", [])}
    assert {n for n in names if n.startswith("CORTEX_")} <= known


def test_gateway_probes_touch_only_the_process(example: list) -> None:
    gateway = by_kind(example, "Deployment")["cortex-gateway"]
    (c,) = gateway["spec"]["template"]["spec"]["containers"]
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_ingest_cronjob_is_bounded(example: list) -> None:
    cron = by_kind(example, "CronJob")["cortex-ingest-chats"]["spec"]
    job = cron["jobTemplate"]["spec"]
    assert cron["concurrencyPolicy"] == "Forbid"
    assert cron["startingDeadlineSeconds"] > 0
    assert {"successfulJobsHistoryLimit", "failedJobsHistoryLimit"} <= cron.keys()
    # The incident's job ran 7 hours; the alert pages at 45 minutes, the deadline kills by then.
    assert 0 < job["activeDeadlineSeconds"] <= 2700
    assert 0 <= job["backoffLimit"] <= 2
    # A run that stopped at its own deadline (exit 3) is not retried straight away.
    [rule] = job["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailJob" and rule["onExitCodes"]["values"] == [3]


def test_ingest_cronjob_is_given_the_gateway_and_no_redis(example: list) -> None:
    # It asks the gateway what it already has: a Redis URL could only name someone else's state.
    [c] = dict(pod_specs(example))["CronJob/cortex-ingest-chats"]["containers"]
    assert "envFrom" not in c
    assert {e["name"] for e in c["env"]} == {"CORTEX_GATEWAY_URL", "CORTEX_WEBHOOK_TOKEN"}


def test_alert_work_outranks_bulk_work(example: list) -> None:
    classes = by_kind(example, "PriorityClass")
    workloads = dict(pod_specs(example))

    def value(workload: str) -> int:
        return classes[workloads[workload]["priorityClassName"]]["value"]  # type: ignore[no-any-return]

    assert value("Deployment/cortex-worker-alerts") > value("Deployment/cortex-worker-chats")
    assert value("Deployment/cortex-gateway") > value("CronJob/cortex-ingest-chats")
    assert all(c.get("preemptionPolicy") == "Never" for c in classes.values())


def test_every_long_running_workload_has_a_disruption_budget(example: list) -> None:
    covered = {
        pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for pdb in by_kind(example, "PodDisruptionBudget").values()
    }
    for name in (
        "cortex-gateway",
        "cortex-worker-alerts",
        "cortex-worker-chats",
        "cortex-worker-store",
        "cortex-controller",
    ):
        assert name in covered


def test_every_component_is_deployed(example: list) -> None:
    assert set(by_kind(example, "Deployment")) == DEPLOYMENTS
    assert by_kind(example, "CronJob").keys() == {"cortex-ingest-chats"}


def controller_pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The controller Deployment's pod spec."""
    return by_kind(objects, "Deployment")["cortex-controller"]["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def test_controller_is_one_pod_never_two_at_once(example: list) -> None:
    spec = by_kind(example, "Deployment")["cortex-controller"]["spec"]
    assert spec["replicas"] == 1
    # A RollingUpdate would run the old and the new pod together, each replaying a batch.
    assert spec["strategy"] == {"type": "Recreate"}
    assert "cortex-controller" not in by_kind(example, "ScaledObject")
    pod = controller_pod(example)
    alerts = by_kind(example, "Deployment")["cortex-worker-alerts"]["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == alerts["priorityClassName"]
    assert pod["securityContext"] == alerts["securityContext"]
    (c,) = pod["containers"]
    assert c["command"] == ["cortex", "controller"]
    assert "ports" not in c


def test_controller_liveness_is_the_heartbeat_and_generous(example: list) -> None:
    (c,) = controller_pod(example)["containers"]
    probe = c["livenessProbe"]
    # A Redis outage fails the check too: ten minutes of failures before a restart, so an
    # outage cannot start a restart storm.
    assert probe["periodSeconds"] >= 60
    assert probe["periodSeconds"] * probe["failureThreshold"] >= 600
    assert "readinessProbe" not in c


def test_controller_liveness_probe_works_against_redis(
    example: list, clean_redis: RedisServer
) -> None:
    (c,) = controller_pod(example)["containers"]
    command = c["livenessProbe"]["exec"]["command"]
    assert command[:2] == ["python", "-c"]
    assert_heartbeat_check(command[2], clean_redis.url)


def test_gateway_admits_only_monitoring_and_cluster_cortex(example: list) -> None:
    policies = by_kind(example, "NetworkPolicy")
    assert policies["default-deny"]["spec"]["podSelector"] == {}
    sources = policies["gateway-ingress"]["spec"]["ingress"][0]["from"]
    assert {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    } in sources
    assert {"podSelector": {}} in sources
    assert len(sources) == 2


def test_workers_reach_only_redis_qdrant_and_ollama(example: list) -> None:
    policy = by_kind(example, "NetworkPolicy")["workers-egress"]["spec"]
    ports = {p["port"] for rule in policy["egress"] for p in rule["ports"]}
    assert ports == {6379, 6333, 6334, 11434}
    dns = by_kind(example, "NetworkPolicy")["allow-dns"]["spec"]["egress"][0]["ports"]
    assert {p["port"] for p in dns} == {53}


def test_the_ingest_job_reaches_only_the_gateway(example: list) -> None:
    egress = by_kind(example, "NetworkPolicy")["ingest-egress"]["spec"]["egress"]
    assert {p["port"] for rule in egress for p in rule["ports"]} == {8080}


def test_controller_reaches_only_redis(example: list) -> None:
    policies = by_kind(example, "NetworkPolicy")
    egress = policies["controller-egress"]["spec"]["egress"]
    assert [p["port"] for rule in egress for p in rule["ports"]] == [6379]
    assert all("namespaceSelector" not in peer for rule in egress for peer in rule["to"])
    # No other egress policy (but allow-dns) selects the controller's pods.
    labels = by_kind(example, "Deployment")["cortex-controller"]["spec"]["template"]["metadata"][
        "labels"
    ]
    for name, policy in policies.items():
        spec = policy["spec"]
        if name in ("controller-egress", "allow-dns") or "Egress" not in spec["policyTypes"]:
            continue
        wanted = spec["podSelector"].get("matchLabels", {})
        selects = wanted.items() <= labels.items()
        assert not selects or not spec.get("egress"), f"{name} opens egress to the controller"


def test_keda_scales_each_worker_within_a_hard_maximum(example: list) -> None:
    scaled = by_kind(example, "ScaledObject")
    assert set(scaled) == {"cortex-worker-alerts", "cortex-worker-chats", "cortex-worker-store"}
    for name, obj in scaled.items():
        spec = obj["spec"]
        assert spec["scaleTargetRef"]["name"] == name
        assert 1 <= spec["maxReplicaCount"] <= 3
        queue = name.removeprefix("cortex-worker-")
        lists = {t["metadata"]["listName"] for t in spec["triggers"] if t["type"] == "redis"}
        assert queue in lists
    # Kept small: the store scales only because it talks to a Qdrant server.
    assert scaled["cortex-worker-store"]["spec"]["maxReplicaCount"] <= 2
    config = by_kind(example, "ConfigMap")["cortex-config"]["data"]
    assert config["CORTEX_QDRANT_URL"].startswith("http")


def test_ollama_limits_component_caps_cpu_and_threads() -> None:
    objects = render(ROOT / "k8s" / "overlays" / "existing-ollama")
    ollama = by_kind(objects, "Deployment")["ollama"]["spec"]["template"]["spec"]
    (c,) = ollama["containers"]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert {"OLLAMA_NUM_PARALLEL", "OLLAMA_MAX_QUEUE"} <= env.keys()
    cpus = int(c["resources"]["limits"]["cpu"])
    modelfile = by_kind(objects, "ConfigMap")["ollama-cortex-embed"]["data"]["Modelfile"]
    assert f"PARAMETER num_thread {cpus}" in modelfile
    assert env["GOMAXPROCS"] == str(cpus)
    # The client asks for the same threads and budgets no more cores than Ollama may use.
    config = by_kind(render(ROOT / "k8s" / "base"), "ConfigMap")["cortex-config"]["data"]
    assert int(config["CORTEX_EMBED_NUM_THREAD"]) == cpus
    assert float(config["CORTEX_EMBED_CPU_BUDGET"]) <= cpus
