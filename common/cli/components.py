"""`cortex dev`, `gateway`, `worker`, `controller`, `embedder`: run one component, or all of them.

Components are started by module path (`os.execv` of `python -m ...` or uvicorn's factory
string), so the CLI never imports gateway or worker code.
"""

import os
import sys
from typing import Annotated

import typer

from common.cli.procs import celery_argv
from common.contract import Queue
from common.errors import ConfigurationError
from common.settings import get_cli_settings, get_gateway_settings, get_worker_settings


def dev() -> None:
    """Run the whole stack in the foreground on embedded defaults; Ctrl-C stops all of it."""
    from common.cli.dev import run_dev

    raise typer.Exit(run_dev(get_cli_settings()))


def controller() -> None:
    """Run the controller: replays parked work, paced, when the backend can take it."""
    argv = [sys.executable, "-m", "workers.controller"]
    os.execv(argv[0], argv)


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


def embedder(
    port: int = 11435,
    host: str = "127.0.0.1",
    word_hash: Annotated[
        bool, typer.Option("--word-hash", help="serve the word-hash test double (not a model)")
    ] = False,
    dim: Annotated[int | None, typer.Option(help="with --word-hash: the vectors' size")] = None,
) -> None:
    """Run an Ollama-compatible embedder: the embedded all-MiniLM-L6-v2 model, offline."""
    settings = get_cli_settings()
    if word_hash:
        from common.embedding.devembedder import run

        run(host, port, dim=dim or settings.embed_dim)
        return
    if dim is not None:
        raise typer.BadParameter(
            "the model's vectors have 384 dimensions; --dim applies to --word-hash only",
            param_hint="--dim",
        )
    _serve_model(host, port, threads=settings.embedder_threads)


def _serve_model(host: str, port: int, *, threads: int) -> None:
    from common.embedding.modelserver import run

    try:
        run(host, port, threads=threads)
    except ConfigurationError as exc:
        typer.secho(f"cortex embedder: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
