"""LibreChat's configuration reaches the gateway's /mcp: the entry, its SSRF exemption, the
name the gateway answers to, the port the NetworkPolicy opens, and the README's copy of it."""

import re
from typing import Any
from urllib.parse import urlsplit

import yaml

from common.settings import GatewaySettings
from tests.deploy.support import ROOT, load, render

CONFIG = ROOT / "deploy" / "librechat" / "librechat.yaml"


def entry() -> dict[str, Any]:
    """The cluster-cortex server of deploy/librechat/librechat.yaml."""
    server: dict[str, Any] = load(CONFIG)["mcpServers"]["cluster-cortex"]
    return server


def test_the_entry_is_streamable_http_to_mcp_with_the_read_token() -> None:
    server = entry()
    assert server["type"] == "streamable-http"
    assert urlsplit(server["url"]).path == "/mcp"
    # LibreChat substitutes ${VAR} from its environment; the token itself is never written here.
    assert server["headers"] == {"Authorization": "Bearer ${CORTEX_READ_TOKEN}"}


def test_the_private_address_is_exempted_host_and_port() -> None:
    url = urlsplit(entry()["url"])
    # LibreChat (config 1.3.10+) takes host:port entries only, each exempting one service.
    assert load(CONFIG)["mcpSettings"]["allowedAddresses"] == [f"{url.hostname}:{url.port}"]
    assert "allowedDomains" not in load(CONFIG)["mcpSettings"]


def test_the_gateway_answers_mcp_by_that_name() -> None:
    hosts = GatewaySettings.model_fields["mcp_allowed_hosts"].default.split(",")
    assert urlsplit(entry()["url"]).hostname in hosts


def test_the_port_is_the_gateway_service_and_librechat_may_reach_it() -> None:
    objects = render(ROOT / "k8s" / "overlays" / "example")
    named = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    url = urlsplit(entry()["url"])
    service = named["Service", "cortex-gateway"]
    assert url.hostname == f"cortex-gateway.{service['metadata']['namespace']}.svc"
    assert url.port in {p["port"] for p in service["spec"]["ports"]}
    policy = named["NetworkPolicy", "gateway-ingress-librechat"]["spec"]
    assert policy["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "cortex-gateway"}}
    [rule] = policy["ingress"]
    librechat = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "librechat"}}}
    assert rule["from"] == [librechat]
    assert rule["ports"] == [{"protocol": "TCP", "port": url.port}]


def test_the_readme_shows_the_same_configuration() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", readme, re.S)]
    shown = [b for b in blocks if isinstance(b, dict) and "mcpServers" in b]
    assert shown, "README: no yaml block with mcpServers"
    config = load(CONFIG)
    assert shown[0]["mcpServers"] == config["mcpServers"]
    assert shown[0]["mcpSettings"] == config["mcpSettings"]
