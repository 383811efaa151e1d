"""deploy/alertmanager: a route amtool accepts, with every safety value in place."""

import re
from typing import Any

from tests.deploy.support import ROOT, load, run, tool

ROUTE = ROOT / "deploy" / "alertmanager" / "route.yml"
ROUTE_028 = ROUTE.with_name("route-0.28.yml")


def cortex_parts(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The cluster-cortex child route and its receiver's webhook config."""
    (route,) = [r for r in config["route"]["routes"] if r["receiver"] == "cluster-cortex"]
    (receiver,) = [r for r in config["receivers"] if r["name"] == "cluster-cortex"]
    (webhook,) = receiver["webhook_configs"]
    return route, webhook


def hours(duration: str) -> float:
    """An Alertmanager duration such as 12h or 30m, in hours."""
    units = {"s": 1 / 3600, "m": 1 / 60, "h": 1, "d": 24}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+)([smhd])", duration))


def test_amtool_accepts_the_config() -> None:
    run([tool("amtool"), "check-config", str(ROUTE)])


def test_alertmanager_server_is_installed() -> None:
    # The end-to-end test runs a real Alertmanager with this route.
    run([tool("alertmanager", "prometheus-alertmanager"), "--version"])


def test_route_values_are_safe() -> None:
    route, webhook = cortex_parts(load(ROUTE))
    assert {"group_wait", "group_interval", "group_by"} <= route.keys()
    assert hours(route["repeat_interval"]) >= 4
    assert route["continue"] is True
    # cluster-cortex's own alerts must not feed cluster-cortex.
    assert 'service!="cluster-cortex"' in route["matchers"]
    assert webhook["send_resolved"] is True
    assert 0 < webhook["max_alerts"] <= 200
    auth = webhook["http_config"]["authorization"]
    assert auth["type"] == "Bearer"
    assert "credentials_file" in auth
    assert "credentials" not in auth


def test_variant_for_028_differs_only_by_the_webhook_timeout() -> None:
    old, new = load(ROUTE), load(ROUTE_028)
    _, webhook = cortex_parts(new)
    assert hours(webhook.pop("timeout")) > 0
    assert old == new
    answer = run([tool("amtool"), "--version"])
    found = re.search(r"version (\d+)\.(\d+)", answer.stdout + answer.stderr)
    assert found, answer
    # Older releases reject `timeout`; the check above keeps the variant in step meanwhile.
    if (int(found[1]), int(found[2])) >= (0, 28):
        run([tool("amtool"), "check-config", str(ROUTE_028)])
