"""deploy/prometheus/rules.yml and its PrometheusRule twin: valid, complete, identical."""

import re
import subprocess
import sys
from typing import Any

import pytest

from tests.deploy.support import ROOT, load, run, tool

RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
RULE_CRD = ROOT / "k8s" / "base" / "prometheusrule.yaml"
RUNBOOK = ROOT / "deploy" / "RUNBOOK.md"
RUNBOOK_URL = "https://github.com/cluster-cortex/cluster-cortex/blob/main/deploy/RUNBOOK.md#"
# What the rules may query: the gateway's metrics, the ones the next issue adds (names fixed
# here so the rules stay valid), and kube-state-metrics.
KNOWN_METRICS = {
    "cortex_gateway_requests_total",
    "cortex_gateway_request_seconds",
    "cortex_gateway_items_total",
    "cortex_gateway_unauthorized_total",
    "cortex_gateway_searches_total",
    "cortex_queue_depth",
    "cortex_dead_letters",
    "cortex_parked",
    "cortex_breaker_state",
    "cortex_embed_seconds_bucket",
    "cortex_embed_latency_pressure",
    "kube_job_status_start_time",
    "kube_job_status_active",
    "kube_cronjob_status_last_successful_time",
}
EXPECTED_ALERTS = {
    "CortexJobRunningTooLong",
    "CortexQueueBacklogGrowing",
    "CortexBreakerOpen",
    "CortexDeadLetters",
    "CortexParkedNotDraining",
    "CortexEmbedLatencyHigh",
    "CortexGatewayDown",
}


def rules() -> list[dict[str, Any]]:
    """Every rule of the plain rules file."""
    return [rule for group in load(RULES)["groups"] for rule in group["rules"]]


def test_promtool_accepts_the_rules() -> None:
    run([tool("promtool"), "check", "rules", str(RULES)])


def test_promtool_unit_tests_pass() -> None:
    # Among them the incident replayed: a runaway ingest Job pages at 47 minutes.
    run([tool("promtool"), "test", "rules", str(RULES.with_name("rules.test.yml"))])


def test_the_incident_alerts_exist() -> None:
    assert {rule["alert"] for rule in rules()} >= EXPECTED_ALERTS


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_every_rule_has_for_severity_summary_and_runbook(rule: dict[str, Any]) -> None:
    assert re.fullmatch(r"\d+[smh]", rule["for"])
    assert rule["labels"]["severity"] in ("critical", "warning")
    assert rule["labels"]["service"] == "cluster-cortex"
    assert rule["annotations"]["summary"]
    url = rule["annotations"]["runbook_url"]
    assert url == RUNBOOK_URL + rule["alert"].lower()
    headings = re.findall(r"(?m)^## (\S+)$", RUNBOOK.read_text())
    assert rule["alert"] in headings, f"deploy/RUNBOOK.md has no section {rule['alert']}"


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_rules_query_only_known_metrics(rule: dict[str, Any]) -> None:
    used = set(re.findall(r"\b((?:cortex|kube)_[a-z_]+)", rule["expr"]))
    assert used <= KNOWN_METRICS, used - KNOWN_METRICS


def test_prometheusrule_carries_the_same_rules() -> None:
    crd = load(RULE_CRD)
    assert crd["kind"] == "PrometheusRule"
    assert crd["spec"]["groups"] == load(RULES)["groups"]


def test_prometheusrule_is_generated_from_the_rules_file() -> None:
    script = ROOT / "deploy" / "prometheus" / "to-prometheusrule.py"
    result = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
