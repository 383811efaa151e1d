"""deploy/grafana: a valid dashboard whose queries parse and use only metrics that exist.

The last test starts a real stack (gateway, workers, controller and Flower on a throwaway
Redis) and reads both /metrics: the gateway exports its own metrics and everything kept in
Redis, Flower the workers' task events. A renamed metric fails here, not in a blank panel.
"""

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from common.cli.procs import Child, celery_argv, free_port
from tests.deploy.support import ROOT, compose_argv, load, render, run, tool
from tests.support import payloads
from tests.support.stack import Stack, wait_until

GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "cluster-cortex.json"
DATASOURCE_UID = "${datasource}"
# What the checks put in for Grafana's variables: any value that keeps the PromQL valid.
VARIABLES = {"$__rate_interval": "1m", "$namespace": ".*"}
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAMES = re.compile(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
_SELECTOR = re.compile(r"\b(?:cortex|flower)_[a-z0-9_]+(\{[^}]*\})?")


def dashboard() -> dict[str, Any]:
    """The committed dashboard."""
    return json.loads(DASHBOARD.read_text())  # type: ignore[no-any-return]


def data_panels() -> list[dict[str, Any]]:
    """Every panel but the row headers."""
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def expressions() -> list[tuple[str, str]]:
    """(where: panel id, title and refId; PromQL) of every target."""
    return [
        (f"panel {p['id']} {p['title']!r} {t['refId']}", t["expr"])
        for p in data_panels()
        for t in p["targets"]
    ]


def substituted(expr: str) -> str:
    """The expression as Prometheus receives it from Grafana; unknown variables are an error."""
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in _STRINGS.sub("", expr), f"unknown variable in {expr}"
    return expr


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, labels or keywords)."""
    bare = _STRINGS.sub('""', expr)
    for pattern in (_MATCHERS, _RANGES, _GROUPING):
        bare = pattern.sub(" ", bare)
    return {name for name in _NAMES.findall(bare) if name.lower() not in _KEYWORDS}


def used_metrics() -> set[str]:
    """Every metric name any panel selects."""
    return {name for _, expr in expressions() for name in metric_names(substituted(expr))}


def promtool_check(exprs: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`promtool check rules` on the expressions as recording rules (its errors name them)."""
    rules = [{"record": f"dashboard:expression_{i}", "expr": e} for i, e in enumerate(exprs)]
    path = tmp_path / "dashboard-rules.json"  # JSON is YAML: no quoting surprises
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    return run([tool("promtool"), "check", "rules", str(path)], check=False)


def test_the_dashboard_is_generated_from_panels_yml() -> None:
    # Both copies: deploy/grafana for compose and import, k8s/base for the ConfigMap.
    script = GRAFANA / "build-dashboard.py"
    result = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr


def test_it_is_a_grafana_dashboard() -> None:
    board = dashboard()
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
    assert board["uid"] == "cluster-cortex" and board["title"]
    assert [p["title"] for p in board["panels"] if p["type"] == "row"] == [
        "Is intake healthy?",
        "Is the embedding node protected?",
        "Is work moving?",
        "Is the memory growing?",
    ]
    for panel in data_panels():
        assert panel["type"] in ("timeseries", "stat", "state-timeline"), panel["title"]
        assert panel["title"] and panel["description"] and panel["targets"], panel["id"]


def test_panel_ids_are_unique() -> None:
    ids = [p["id"] for p in dashboard()["panels"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) for i in ids)


def test_panels_fit_the_grid_without_overlapping() -> None:
    taken: dict[tuple[int, int], str] = {}
    for panel in dashboard()["panels"]:
        g = panel["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24, panel["title"]
        columns, lines = range(g["x"], g["x"] + g["w"]), range(g["y"], g["y"] + g["h"])
        for cell in itertools.product(columns, lines):
            assert cell not in taken, f"{panel['title']} overlaps {taken[cell]}"
            taken[cell] = panel["title"]


def test_the_template_variables_are_the_data_source_and_the_namespace() -> None:
    variables = {v["name"]: v for v in dashboard()["templating"]["list"]}
    assert set(variables) == {"datasource", "namespace"}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    namespace = variables["namespace"]
    assert namespace["datasource"]["uid"] == DATASOURCE_UID
    # Its values come from a metric the panels use too, so it lists where they have data.
    [metric] = re.findall(r"^label_values\((\w+), namespace\)$", namespace["definition"])
    assert metric in used_metrics()


def test_every_panel_queries_through_the_datasource_variable() -> None:
    for panel in data_panels():
        assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DATASOURCE_UID, panel["title"]


def test_every_selector_is_scoped_to_the_namespace() -> None:
    for where, expr in expressions():
        for match in _SELECTOR.finditer(expr):
            assert 'namespace=~"$namespace"' in (match.group(1) or ""), f"{where}: {expr}"


def test_promtool_parses_every_expression(tmp_path: Path) -> None:
    found = expressions()
    exprs = [substituted(expr) for _, expr in found]
    result = promtool_check(exprs, tmp_path)
    index = "\n".join(f"expression_{i}: {where}" for i, (where, _) in enumerate(found))
    assert result.returncode == 0, f"{result.stdout}{result.stderr}\n{index}"
    assert f"{len(exprs)} rules found" in result.stdout + result.stderr


def test_promtool_check_fails_on_a_broken_expression(tmp_path: Path) -> None:
    # The check above can fail: one unbalanced parenthesis among good expressions is refused.
    good = substituted(expressions()[0][1])
    assert promtool_check([good, "sum(rate(cortex_queue_depth[1m])"], tmp_path).returncode != 0


def test_metric_names_are_read_from_promql() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le, route) (rate(cortex_gateway_request_seconds_bucket"
        '{route=~"/v1/a|b"}[5m]))) / max by (kind) (rate(cortex_embed_batch_size_sum[1m]))'
        " and on (kind) flower_worker_online offset 5m"
    )
    assert metric_names(expr) == {
        "cortex_gateway_request_seconds_bucket",
        "cortex_embed_batch_size_sum",
        "flower_worker_online",
    }


def test_compose_observability_profile_validates() -> None:
    env = {"CORTEX_COMPOSE_ENV_FILE": "deploy/compose.env.example"}
    argv = [*compose_argv(), "-f", str(ROOT / "docker-compose.yml"), "--profile", "observability"]
    run([*argv, "config", "-q"], cwd=ROOT, env={**os.environ, **env})


def test_grafana_and_prometheus_come_only_with_the_observability_profile() -> None:
    services = load(ROOT / "docker-compose.yml")["services"]
    for name in ("grafana", "prometheus"):
        assert services[name]["profiles"] == ["observability"], name
    assert services["grafana"]["depends_on"] == {"prometheus": {"condition": "service_healthy"}}


def test_compose_grafana_is_provisioned_with_the_dashboard() -> None:
    grafana = load(ROOT / "docker-compose.yml")["services"]["grafana"]
    mounts = dict(mount.split(":")[:2] for mount in grafana["volumes"])
    assert mounts["./deploy/grafana/cluster-cortex.json"] == (
        "/etc/grafana/dashboards/cluster-cortex.json"
    )
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    provisioning = GRAFANA / "provisioning"
    [provider] = load(provisioning / "dashboards" / "cluster-cortex.yml")["providers"]
    assert provider["options"]["path"] == "/etc/grafana/dashboards"
    [source] = load(provisioning / "datasources" / "prometheus.yml")["datasources"]
    assert (source["type"], source["url"]) == ("prometheus", "http://prometheus:9090")


def test_compose_prometheus_scrapes_the_gateway_and_flower() -> None:
    config = ROOT / "deploy" / "prometheus" / "prometheus.yml"
    run([tool("promtool"), "check", "config", str(config)])
    jobs = {job["job_name"]: job for job in load(config)["scrape_configs"]}
    # The job names the alert rules and the ServiceMonitor's Services use.
    assert set(jobs) == {"cortex-gateway", "cortex-flower"}
    targets = [t for job in jobs.values() for c in job["static_configs"] for t in c["targets"]]
    assert targets == ["gateway:8080", "flower:5555"]


def test_kustomize_ships_the_dashboard_to_the_grafana_sidecar() -> None:
    objects = render(ROOT / "k8s" / "overlays" / "example")
    labelled = [
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]
    assert [o["metadata"]["name"] for o in labelled] == ["cortex-grafana-dashboard"]
    assert labelled[0]["data"] == {"cluster-cortex.json": DASHBOARD.read_text()}


def _flower(stack: Stack) -> str:
    """Start Flower beside the stack, as compose and k8s run it; its base URL once it answers."""
    port = free_port()
    argv = celery_argv("flower", f"--port={port}", "--address=127.0.0.1")
    child = Child("flower", argv, env=stack.env, log=stack.tmp / "logs" / "flower.log")
    stack.children.append(child)  # stopped with the stack
    child.start()
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _get(url + "/healthcheck"), timeout_s=60, what="flower /healthcheck")
    return url


def _get(url: str) -> str:
    try:
        response = requests.get(url, timeout=5)
    except requests.RequestException:
        return ""
    return response.text if response.ok else ""


def exported(*urls: str) -> set[str]:
    """Every sample name on the /metrics of each URL (histograms: _bucket, _sum, _count)."""
    names: set[str] = set()
    for url in urls:
        for family in text_string_to_metric_families(_get(url + "/metrics")):
            names |= {sample.name for sample in family.samples}
    return names


def _traffic(stack: Stack) -> None:
    """An alert, a chat batch and a search: every kind of call and task runs at least once."""
    answer = stack.post("/v1/alerts/alertmanager", payloads.notification(payloads.alert()))
    assert answer.status_code == 202, answer.text
    assert stack.post("/v1/chats", payloads.chat_batch()).status_code == 202
    stack.wait_stored("alert", 1)
    stack.wait_stored("chat", 3)
    assert stack.search("mailu front crash looping")


@pytest.mark.timeout(300)
def test_every_metric_a_panel_uses_is_exported(make_stack: type[Stack]) -> None:
    stack = make_stack().full()
    flower = _flower(stack)
    _traffic(stack)
    wanted = used_metrics()
    missing: set[str] = set()

    def complete() -> bool:
        nonlocal missing
        missing = wanted - exported(stack.gateway_url, flower)
        return not missing

    # Flower turns events into metrics as they arrive: wait for them, then name what lacks.
    try:
        wait_until(complete, timeout_s=45, what="every metric the dashboard uses")
    except AssertionError:
        pytest.fail(f"the dashboard uses metrics nobody exports: {sorted(missing)}")
