"""The `cortex` commands: components for compose/Kubernetes, dev stack, and operator tools."""

import os
import re
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import orjson
import redis
import requests
import typer
from rich.console import Console
from rich.table import Table

from common import keys, stats
from common.cli.dev import REDIS_URL_FILE
from common.cli.procs import celery_argv
from common.contract import Queue
from common.protect import parking
from common.settings import get_cli_settings, get_gateway_settings, get_worker_settings

cli = typer.Typer(
    add_completion=False, no_args_is_help=True, help=__doc__, pretty_exceptions_enable=False
)
console = Console()


@cli.command()
def dev() -> None:
    """Run the whole stack in the foreground on embedded defaults; Ctrl-C stops all of it."""
    from common.cli.dev import run_dev

    raise typer.Exit(run_dev(get_cli_settings()))


@cli.command()
def controller() -> None:
    """Run the controller: replays parked work, paced, when the backend can take it."""
    argv = [sys.executable, "-m", "workers.controller"]
    os.execv(argv[0], argv)


@cli.command()
def gateway(log_level: str = "info") -> None:
    """Run the HTTP gateway (uvicorn) on CORTEX_GATEWAY_PORT."""
    import uvicorn

    settings = get_gateway_settings()
    uvicorn.run(
        "gateway.main:create_app", factory=True, host=settings.gateway_host,
        port=settings.gateway_port, log_level=log_level, access_log=False,
    )  # fmt: skip


def _worker_args(queues: list[str], concurrency: int | None, pool: str | None) -> list[str]:
    settings = get_worker_settings()
    if Queue.STORE in queues and settings.qdrant_url is None:
        if len(queues) > 1 or (concurrency or 1) > 1 or pool not in (None, "solo"):
            raise typer.BadParameter(
                "Qdrant local mode allows one thread of one process: run the store queue "
                "alone with one solo worker, or set CORTEX_QDRANT_URL",
                param_hint="--queues",
            )
        return ["--pool", "solo"]
    n = concurrency or max(settings.processes(q) for q in queues)
    return ["--pool", pool or "prefork", "--concurrency", str(n)]


@cli.command()
def worker(
    queues: Annotated[str, typer.Option(help="comma-separated: alerts, chats, store")],
    concurrency: Annotated[int | None, typer.Option(min=1)] = None,
    pool: str | None = None,
    name: str | None = None,
    log_level: str = "info",
) -> None:
    """Run a Celery worker on the given queues with that queue's concurrency cap."""
    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = [q for q in wanted if q not in {q.value for q in Queue}]
    if not wanted or unknown:
        raise typer.BadParameter(
            f"unknown queues: {unknown or 'none given'}", param_hint="--queues"
        )
    argv = celery_argv(
        "worker", "-Q", ",".join(wanted), *_worker_args(wanted, concurrency, pool),
        "-n", name or f"{'+'.join(wanted)}@%h", "--loglevel", log_level,
        "--without-gossip", "--without-mingle",
    )  # fmt: skip
    os.execv(argv[0], argv)


def _redis_url() -> str:
    """CORTEX_REDIS_URL, or the embedded Redis of a `cortex dev` running in this folder."""
    settings = get_cli_settings()
    if "redis_url" not in settings.model_fields_set and REDIS_URL_FILE.exists():
        return REDIS_URL_FILE.read_text().strip()
    return settings.redis_url


def _control(redis_url: str, command: str, **kwargs: Any) -> list[dict[str, Any]]:
    # A bare Celery app speaks the control protocol without importing worker code.
    from celery import Celery

    from common.contract import PRIORITY_SEP

    app = Celery(broker=redis_url)
    app.conf.broker_transport_options = {"sep": PRIORITY_SEP, "socket_connect_timeout": 2}
    try:
        replies: list[dict[str, Any]] = getattr(app.control, command)(timeout=1.0, **kwargs) or []
    finally:
        app.close()
    return replies


def _ping_workers(redis_url: str) -> dict[str, Any]:
    return {name: reply for r in _control(redis_url, "ping") for name, reply in r.items()}


def _client() -> redis.Redis:
    return redis.Redis.from_url(_redis_url(), socket_timeout=5, socket_connect_timeout=3)


QueueArg = Annotated[Queue, typer.Argument(help="alerts, chats or store")]


@cli.command()
def pause(queue: QueueArg) -> None:
    """Stop consumption of a queue on every worker (remembered across worker restarts)."""
    _client().hset(keys.PAUSED, queue.value, "manual")
    replies = _control(_redis_url(), "cancel_consumer", queue=queue.value, reply=True)
    typer.echo(f"{queue.value} paused; {len(replies)} workers answered")


@cli.command()
def resume(queue: QueueArg) -> None:
    """Restart consumption of a paused queue."""
    _client().hdel(keys.PAUSED, queue.value)
    replies = _control(_redis_url(), "add_consumer", queue=queue.value, reply=True)
    typer.echo(f"{queue.value} resumed; {len(replies)} workers answered")


@cli.command()
def drain(queue: QueueArg) -> None:
    """Move a queue's backlog to the parked store without losing it (replay puts it back)."""
    moved = parking.drain(_client(), queue.value)
    typer.echo(f"moved {moved} messages from {queue.value} to the parked store")


@cli.command()
def replay(
    source: Annotated[str, typer.Option("--from", help="parked or dead")] = "parked",
    queue: Annotated[Queue | None, typer.Option(help="only this queue (parked)")] = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many messages")] = 1_000_000,
    rate: Annotated[float, typer.Option(min=0.1, help="messages per second")] = 5.0,
) -> None:
    """Put parked (or dead-lettered) work back on its queues, paced, alerts first."""
    if source not in ("parked", "dead"):
        raise typer.BadParameter("--from takes parked or dead")
    client = _client()
    queues = [queue] if queue else [Queue.ALERTS, Queue.CHATS, Queue.STORE]
    moved = 0
    while moved < limit:
        if source == "dead":
            step = parking.replay_dead(client, limit=1)
        else:
            step = next((n for q in queues if (n := parking.replay(client, q.value, limit=1))), 0)
        if not step:
            break
        moved += step
        time.sleep(1.0 / rate)
    typer.echo(f"replayed {moved} messages from {source}")


def _gather(redis_url: str) -> dict[str, Any]:
    client = redis.Redis.from_url(redis_url, socket_timeout=3, socket_connect_timeout=3)
    try:
        return stats.gather(client, slots_cap=get_cli_settings().concurrency_cap)
    finally:
        client.close()


@cli.command()
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Queue depths, in-flight, dead letters, stored counts and live workers."""
    redis_url = _redis_url()
    report = _gather(redis_url)
    report["workers"] = sorted(_ping_workers(redis_url))
    if as_json:
        typer.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table("queue", "depth", "parked", "paused", "buckets")
    for name, queue in report["queues"].items():
        buckets = ", ".join(f"{k}={v}" for k, v in queue["buckets"].items() if v)
        paused = report["paused"].get(name, "")
        table.add_row(name, str(queue["depth"]), str(queue["parked"]), paused, buckets or "-")
    console.print(table)
    c = report["concurrency"]
    console.print(
        f"in flight {report['in_flight']}  dead letters {report['dead_letters']}  "
        f"digests pending {report['digests_pending']}  "
        f"breaker {report['breaker']}  slots {c['in_use']}/{c['limit']} (cap {c['cap']})  "
        f"latency x{c['latency_pressure']}"
    )
    console.print(
        f"stored alerts {report['stored']['alert']}  stored chats {report['stored']['chat']}"
    )
    age = report["controller_heartbeat_age_s"]
    console.print(
        f"controller: seen {age}s ago" if age is not None else
        "controller: [red]not running[/red] (parked work is not replayed)"
    )  # fmt: skip
    console.print("workers: " + (", ".join(report["workers"]) or "[red]none answering[/red]"))


@cli.command()
def search(
    text: str,
    kind: Annotated[str | None, typer.Option(help="alert or chat")] = None,
    limit: int = 10,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Search stored alerts and chats through the gateway."""
    settings = get_cli_settings()
    params: dict[str, Any] = {"q": text, "limit": limit}
    if kind:
        params["kind"] = kind
    try:
        response = requests.get(f"{settings.gateway_url}/v1/search", params=params, timeout=30)
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


@cli.command("ingest-chats")
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


@cli.command("dead-letters")
def dead_letters(limit: int = 20) -> None:
    """Show the newest dead-lettered tasks with their reasons."""
    settings = get_cli_settings()
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=3)
    total = client.llen(keys.DEAD_LETTERS)
    for raw in client.lrange(keys.DEAD_LETTERS, 0, limit - 1):
        entry = orjson.loads(raw)
        n = len(entry["args"][0]) if entry.get("args") else 0
        console.print(f"{entry['task']} ({n} items, {entry['retries']} retries): {entry['reason']}")
    console.print(f"{total} dead letters")


@cli.command()
def embedder(port: int = 11435, host: str = "127.0.0.1", dim: int | None = None) -> None:
    """Run the Ollama-compatible development embedder (not a real model)."""
    from common.embedding.devembedder import run

    run(host, port, dim=dim or get_cli_settings().embed_dim)


def main() -> None:
    """Entry point of the `cortex` console script."""
    cli()
