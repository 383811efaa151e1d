"""`cortex recall`: an incident card for an alert (fingerprint or Alertmanager JSON) or a text.

It reads the gateway's `/v1/recall` over HTTP only, sending CORTEX_READ_TOKEN when set, so it
works from any machine that reaches the gateway.
"""

import re
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import requests
import typer
from rich.console import Console

from common.cli.card import render
from common.cli.memory import reader_headers
from common.settings import get_cli_settings

# Alertmanager's fingerprints: 16 hexadecimal digits. Any other argument is free text.
_FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")


def _read_alert(path: Path) -> dict[str, Any]:
    """The alert in a file (`-`: stdin): an alert object, or a webhook body's first alert."""
    try:
        raw = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
        data = orjson.loads(raw)
    except (OSError, orjson.JSONDecodeError) as exc:
        raise typer.BadParameter(f"cannot read an alert from {path}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("alerts"), list) and data["alerts"]:
        data = data["alerts"][0]
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path} holds no Alertmanager alert object")
    return data


def _ask(target: str | None, alert: Path | None, params: dict[str, Any]) -> requests.Response:
    settings = get_cli_settings()
    url, headers = f"{settings.gateway_url}/v1/recall", reader_headers(settings)
    try:
        if alert is not None:
            body = {"alert": _read_alert(alert)}
            return requests.post(url, params=params, json=body, headers=headers, timeout=60)
        key = "fingerprint" if _FINGERPRINT.match(str(target)) else "text"
        return requests.get(url, params={key: target, **params}, headers=headers, timeout=60)
    except requests.RequestException as exc:
        typer.echo(f"gateway unreachable at {settings.gateway_url}: {exc}", err=True)
        raise typer.Exit(2) from None


def recall(
    target: Annotated[
        str | None,
        typer.Argument(
            metavar="FINGERPRINT|TEXT", help="a fingerprint (16 hex digits), else free text"
        ),
    ] = None,
    alert: Annotated[
        Path | None,
        typer.Option(
            "--alert", help="a JSON file: an Alertmanager alert or webhook body; - reads stdin"
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="ISO-8601 time, or back from now: 24h, 7d")
    ] = None,
    namespace: Annotated[
        str | None, typer.Option(help="similar and around in this namespace")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=50, help="entries per section")] = 10,
    window: Annotated[int, typer.Option(min=0, help="seconds around the alert's start")] = 900,
    as_json: Annotated[bool, typer.Option("--json", help="the gateway's JSON answer")] = False,
) -> None:
    """An incident card: this alert before, what fired around it, similar alerts elsewhere, and
    what was said about it. Exit codes: 0 answered; 1 refused or not found; 2 bad usage or
    the gateway unreachable."""
    if (target is None) == (alert is None):
        raise typer.BadParameter("give a FINGERPRINT or TEXT argument, or --alert FILE")
    params = {"since": since, "namespace": namespace, "limit": limit, "window_s": window}
    response = _ask(target, alert, {k: v for k, v in params.items() if v is not None})
    if response.status_code != 200:
        typer.echo(f"recall failed ({response.status_code}): {response.text}", err=True)
        raise typer.Exit(1)
    answer = response.json()
    if as_json:
        typer.echo(orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode())
        return
    render(answer, Console())
