"""End to end with a real Alertmanager (Debian's 0.25) running the shipped route.

Alerts are posted to Alertmanager's API; Alertmanager notifies cluster-cortex through the
receiver of deploy/alertmanager/route.yml, re-sends every firing group each repeat interval, and
sends the resolution. Only the timing, the gateway's address and the token file are changed for
the test: the matchers, send_resolved, max_alerts and the bearer authorization are the shipped
ones.
"""

import copy
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from common.cli.procs import Child, free_port
from tests.support.stack import Stack, wait_until

ROOT = Path(__file__).resolve().parents[2]
ROUTE = ROOT / "deploy" / "alertmanager" / "route.yml"
INSTALL_HINT = (
    "Alertmanager not found (prometheus-alertmanager or alertmanager): "
    "run scripts/deploy-tools (as root) to install it"
)
TOKEN = "e2e-webhook-token"
# Short enough that several re-sends happen within a test; repeat_interval > group_interval,
# as Alertmanager expects.
TIMING = {"group_wait": "1s", "group_interval": "2s", "repeat_interval": "4s"}


def alertmanager_binary() -> str:
    """Debian's `prometheus-alertmanager` or upstream's `alertmanager`; fail, never skip."""
    search = os.pathsep.join([os.environ.get("PATH", ""), str(Path(sys.executable).parent)])
    for name in ("prometheus-alertmanager", "alertmanager"):
        if found := shutil.which(name, path=search):
            return found
    pytest.fail(INSTALL_HINT)


def shipped_config(*, webhook_url: str, token_file: Path) -> dict[str, Any]:
    """deploy/alertmanager/route.yml with only the address, the token file and timing changed."""
    config: dict[str, Any] = copy.deepcopy(yaml.safe_load(ROUTE.read_text()))
    (route,) = [r for r in config["route"]["routes"] if r["receiver"] == "cluster-cortex"]
    (receiver,) = [r for r in config["receivers"] if r["name"] == "cluster-cortex"]
    (webhook,) = receiver["webhook_configs"]
    # The shipped values this test relies on, so a change to them is noticed here.
    assert webhook["send_resolved"] is True
    assert webhook["http_config"]["authorization"]["type"] == "Bearer"
    assert 'service!="cluster-cortex"' in route["matchers"]
    route.update(TIMING)
    webhook["url"] = webhook_url
    webhook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    return config


class Alertmanager:
    """One real Alertmanager process on loopback, clustering off."""

    def __init__(self, tmp: Path, config: dict[str, Any]) -> None:
        self.tmp = tmp
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        config_file = tmp / "alertmanager.yml"
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        (tmp / "storage").mkdir(exist_ok=True)
        argv = [
            alertmanager_binary(),
            f"--config.file={config_file}",
            f"--storage.path={tmp / 'storage'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=debug",
        ]
        # Loopback only: no proxy may stand between Alertmanager and the gateway.
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        self.child = Child("alertmanager", argv, env=env, log=tmp / "alertmanager.log")

    def start(self) -> "Alertmanager":
        """Start it and wait until it is ready."""
        self.child.start()
        wait_until(self._ready, timeout_s=30, what=f"alertmanager ready:\n{self.child.tail()}")
        return self

    def _ready(self) -> bool:
        if not self.child.running():
            raise AssertionError(f"alertmanager exited:\n{self.child.tail()}")
        try:
            return requests.get(self.url + "/-/ready", timeout=1).ok
        except requests.RequestException:
            return False

    def post(self, alerts: list[dict[str, Any]]) -> None:
        """POST /api/v2/alerts, as Prometheus does."""
        response = requests.post(self.url + "/api/v2/alerts", json=alerts, timeout=10)
        assert response.status_code == 200, response.text

    def stop(self) -> None:
        """SIGTERM, then SIGKILL."""
        self.child.stop(timeout_s=10)


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Callable[..., Alertmanager]]:
    """A factory of Alertmanagers running the shipped route against a stack's gateway."""
    started: list[Alertmanager] = []

    def start(stack: Stack, *, token: str) -> Alertmanager:
        folder = tmp_path / f"alertmanager-{len(started)}"
        folder.mkdir()
        token_file = folder / "cortex-token"
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)
        config = shipped_config(
            webhook_url=stack.gateway_url + "/v1/alerts/alertmanager", token_file=token_file
        )
        manager = Alertmanager(folder, config)
        started.append(manager)
        return manager.start()

    yield start
    for manager in started:
        manager.stop()


def timestamp(at: datetime) -> str:
    """RFC 3339 in UTC, as Alertmanager's API takes it."""
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def am_alert(name: str, namespace: str, pod: str, starts_at: datetime, **labels: str) -> dict:
    """One alert as Prometheus posts it to Alertmanager: firing, no endsAt."""
    return {
        "labels": {
            "alertname": name,
            "severity": "critical",
            "namespace": namespace,
            "pod": pod,
            **labels,
        },
        "annotations": {"summary": f"Pod {namespace}/{pod} is crash looping ({name})"},
        "startsAt": timestamp(starts_at),
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
    }


def gateway_metric(stack: Stack, sample: str, **labels: str) -> float:
    """One sample of the gateway's /metrics (0 when absent)."""
    text = requests.get(stack.gateway_url + "/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def duplicates(stack: Stack) -> float:
    """Alert items the gateway recognised as already known."""
    return gateway_metric(stack, "cortex_gateway_items_total", kind="alert", outcome="duplicate")


def unauthorized(stack: Stack) -> float:
    """Requests the gateway refused for a missing or wrong bearer token."""
    return gateway_metric(stack, "cortex_gateway_unauthorized_total")


def document_embeddings(stack: Stack) -> int:
    """Texts the embedder embedded as documents (searches embed `search_query: ` texts)."""
    return sum(t.startswith("search_document") for t in stack.embedder.stats()["texts"])


def stored_statuses(stack: Stack) -> dict[str, str]:
    """Stored alert status by pod, through the gateway's search."""
    results = stack.search("pod crash looping", kind="alert", limit=20)
    return {r["payload"]["labels"]["pod"]: r["payload"]["status"] for r in results}


def test_alertmanager_notifications_are_stored_once_and_resolved(
    make_stack: Callable[..., Stack], alertmanager: Callable[..., Alertmanager]
) -> None:
    stack = make_stack(CORTEX_WEBHOOK_TOKEN=TOKEN).full()
    manager = alertmanager(stack, token=TOKEN)
    started = datetime.now(UTC) - timedelta(minutes=2)
    # Two groups (route group_by: alertname, namespace): two pods crash looping in `mail`, a
    # failed job in `batch`. The fourth alert is about cluster-cortex itself: the shipped
    # route's matcher keeps it away from cluster-cortex.
    firing = [
        am_alert("KubePodCrashLooping", "mail", "mailu-front-7d9c5", started),
        am_alert("KubePodCrashLooping", "mail", "mailu-admin-5f6b7", started),
        am_alert("KubeJobFailed", "batch", "nightly-backup-29100", started),
    ]
    own = am_alert(
        "CortexBacklogGrowing", "cluster-cortex", "cortex-worker-alerts-1", started,
        service="cluster-cortex",
    )  # fmt: skip
    n = len(firing)
    manager.post([*firing, own])

    stack.wait_stored("alert", n, timeout_s=30)
    assert document_embeddings(stack) == n

    # Alertmanager re-sends each firing group every repeat_interval; wait for two re-sends of
    # every alert, all recognised as duplicates.
    wait_until(
        lambda: duplicates(stack) >= 2 * n,
        timeout_s=30,
        what=f"Alertmanager's re-sends counted as duplicates:\n{manager.child.tail()}",
    )
    stack.wait_stored("alert", n, timeout_s=10)
    assert stack.stats()["stored"]["alert"] == n
    assert document_embeddings(stack) == n, "a re-send was embedded again"
    statuses = stored_statuses(stack)
    assert statuses == {a["labels"]["pod"]: "firing" for a in firing}, statuses

    # Resolve: the same alerts with endsAt now. Alertmanager sends the resolution
    # (send_resolved), which patches the stored points' status without embedding again.
    now = timestamp(datetime.now(UTC))
    manager.post([{**a, "endsAt": now} for a in firing])

    def all_resolved() -> bool:
        return stored_statuses(stack) == {a["labels"]["pod"]: "resolved" for a in firing}

    wait_until(all_resolved, timeout_s=30, what=f"resolutions stored:\n{manager.child.tail()}")
    updated = gateway_metric(stack, "cortex_gateway_items_total", kind="alert", outcome="updated")
    assert updated == n, "each resolution is one status update"
    assert stack.stats()["stored"]["alert"] == n
    assert document_embeddings(stack) == n, "a resolution was embedded again"
    # The bearer token from credentials_file was accepted every time.
    assert unauthorized(stack) == 0


def test_a_wrong_token_is_refused_counted_and_stores_nothing(
    make_stack: Callable[..., Stack], alertmanager: Callable[..., Alertmanager]
) -> None:
    # Alertmanager drops a notification answered 401 without retrying: without this counter
    # (and the CortexWebhookUnauthorized alert on it) the loss would be silent.
    stack = make_stack(CORTEX_WEBHOOK_TOKEN=TOKEN).full()
    manager = alertmanager(stack, token="not-the-" + TOKEN)
    manager.post([am_alert("KubePodCrashLooping", "mail", "mailu-front-7d9c5", datetime.now(UTC))])

    wait_until(
        lambda: unauthorized(stack) > 0,
        timeout_s=20,
        what=f"a 401 counted by the gateway:\n{manager.child.tail()}",
    )
    stats = stack.stats()
    assert stats["stored"]["alert"] == 0
    assert all(q["depth"] == 0 for q in stats["queues"].values()), stats
    assert stats["in_flight"] == 0
    assert stack.redis.keys("cortex:seen:*") == []
    assert duplicates(stack) == 0
    assert document_embeddings(stack) == 0
