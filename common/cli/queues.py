"""`cortex status`, `pause`, `resume`, `drain`, `replay`, `dead-letters`: queue tools.

They talk to Redis directly (CORTEX_REDIS_URL, or the embedded Redis of a `cortex dev` running
in this folder) and to the workers through Celery's control protocol, never through a worker's
code.
"""

import time
from typing import Annotated, Any

import orjson
import redis
import typer
from rich.console import Console
from rich.table import Table

from common import keys, stats
from common.cli.dev import REDIS_URL_FILE
from common.contract import Queue
from common.protect import parking
from common.settings import get_cli_settings

console = Console()


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


def pause(queue: QueueArg) -> None:
    """Stop consumption of a queue on every worker (remembered across worker restarts)."""
    _client().hset(keys.PAUSED, queue.value, "manual")
    replies = _control(_redis_url(), "cancel_consumer", queue=queue.value, reply=True)
    typer.echo(f"{queue.value} paused; {len(replies)} workers answered")


def resume(queue: QueueArg) -> None:
    """Restart consumption of a paused queue."""
    _client().hdel(keys.PAUSED, queue.value)
    replies = _control(_redis_url(), "add_consumer", queue=queue.value, reply=True)
    typer.echo(f"{queue.value} resumed; {len(replies)} workers answered")


def drain(queue: QueueArg) -> None:
    """Move a queue's backlog to the parked store without losing it (replay puts it back)."""
    moved = parking.drain(_client(), queue.value)
    typer.echo(f"moved {moved} messages from {queue.value} to the parked store")


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


def dead_letters(limit: int = 20) -> None:
    """Show the newest dead-lettered tasks with their reasons."""
    client = _client()  # the same Redis as status and replay, a `cortex dev` folder's included
    total = client.llen(keys.DEAD_LETTERS)
    for raw in client.lrange(keys.DEAD_LETTERS, 0, limit - 1):
        entry = orjson.loads(raw)
        n = len(entry["args"][0]) if entry.get("args") else 0
        console.print(f"{entry['task']} ({n} items, {entry['retries']} retries): {entry['reason']}")
    console.print(f"{total} dead letters")
