"""`cortex search` and `cortex ingest-chats`: reading and feeding the memory through the gateway."""

import re
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import requests
import typer
from rich.console import Console

from common.settings import CliSettings, get_cli_settings

console = Console()


def reader_headers(settings: CliSettings) -> dict[str, str]:
    """The read token as a bearer header when CORTEX_READ_TOKEN is set."""
    return {"Authorization": f"Bearer {settings.read_token}"} if settings.read_token else {}


def search(
    text: str,
    kind: Annotated[str | None, typer.Option(help="alert or chat")] = None,
    limit: int = 10,
    mode: Annotated[str, typer.Option(help="hybrid, dense (embedding only) or sparse (BM25)")] = (
        "hybrid"
    ),
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Search stored alerts and chats through the gateway."""
    settings = get_cli_settings()
    params: dict[str, Any] = {"q": text, "limit": limit, "mode": mode}
    if kind:
        params["kind"] = kind
    try:
        response = requests.get(
            f"{settings.gateway_url}/v1/search", params=params, headers=reader_headers(settings),
            timeout=30,
        )  # fmt: skip
    except requests.RequestException as exc:
        typer.echo(f"gateway unreachable at {settings.gateway_url}: {exc}", err=True)
        raise typer.Exit(2) from None
    if response.status_code != 200:
        typer.echo(f"search failed ({response.status_code}): {response.text}", err=True)
        raise typer.Exit(1)
    results = response.json()["results"]
    if as_json:
        typer.echo(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
        return
    for hit in results:
        console.print(f"[bold]{hit['score']:.3f}[/bold] {hit['kind']}: {_describe(hit)}")
    if not results:
        console.print("no matches")


def _describe(hit: dict[str, Any]) -> str:
    p = hit["payload"]
    if hit["kind"] == "alert":
        return (
            f"{p.get('alertname')} [{p.get('status')}] {p.get('summary', '')} ({p.get('startsAt')})"
        )
    return f"{p.get('title')} / {p.get('role')}: {str(p.get('text', ''))[:120]}"


def _duration(text: str) -> float:
    from common.ingest.deadline import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _source(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", text):
        raise typer.BadParameter("letters, digits, '_', '.' and '-' only (1-100 characters)")
    return text


def ingest_chats(
    path: Annotated[Path, typer.Argument(exists=True, help="an export file or a folder of them")],
    source: Annotated[str, typer.Option(callback=_source, help="source name of the chats")] = (
        "librechat"
    ),
    deadline: Annotated[
        str, typer.Option(help="stop cleanly after this long: 90s, 30m, 2h or seconds")
    ] = "30m",
    batch_messages: Annotated[int, typer.Option(min=1, max=1000, help="messages per post")] = 64,
    batch_bytes: Annotated[int, typer.Option(min=4096, help="about this many bytes per post")] = (
        1_048_576
    ),
    part_chars: Annotated[
        int, typer.Option(min=1000, max=1_000_000, help="longer messages go in several parts")
    ] = 262_144,
    dry_run: Annotated[bool, typer.Option(help="read and plan, send nothing")] = False,
) -> None:
    """Push LibreChat exports through /v1/chats, sending only what the gateway lacks.

    Before sending it asks the gateway (/v1/chats/known) which messages it
    already accepted with the same content; it needs no Redis of its own.
    Exit codes: 0 all sent (duplicates included); 1 an unreadable file,
    a rejected post, or the gateway failing mid-run; 2 bad options;
    3 stopped at the deadline (run it again for the rest); 130 interrupted.
    """
    from common.ingest.client import Gateway
    from common.ingest.plan import Limits
    from common.ingest.run import Options, Streams, ingest

    settings = get_cli_settings()
    limits = Limits(batch_messages=batch_messages, batch_bytes=batch_bytes, part_chars=part_chars)
    options = Options(source=source, deadline_s=_duration(deadline), limits=limits, dry_run=dry_run)
    gateway = Gateway(settings.gateway_url, token=settings.webhook_token)
    streams = Streams(out=sys.stdout, err=sys.stderr)
    try:
        code = ingest(path, options, gateway=gateway, streams=streams)
    finally:
        gateway.close()
    raise typer.Exit(code)
