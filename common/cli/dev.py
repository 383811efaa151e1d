"""`cortex dev`: Redis, embedder, gateway, workers and Flower on one machine, no Docker or root."""

import os
import signal
import socket
import time
from pathlib import Path

import requests
import typer

from common.cli.procs import Child, celery_argv, cortex_argv, free_port
from common.cli.redisserver import RedisServer
from common.settings import CliSettings

STATE_DIR = Path(".cortex")
# Written while `cortex dev` runs, so `cortex status` in another terminal finds its Redis.
REDIS_URL_FILE = STATE_DIR / "redis.url"


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _free_port(preferred: int) -> int:
    return preferred if _port_free(preferred) else free_port()


def _ollama_answers(url: str) -> bool:
    try:
        return requests.get(url.rstrip("/") + "/api/version", timeout=1.5).ok
    except requests.RequestException:
        return False


def _children(settings: CliSettings, env: dict[str, str], logs: Path) -> list[Child]:
    def child(name: str, argv: list[str]) -> Child:
        return Child(name, argv, env=env, log=logs / f"{name}.log")

    return [
        child("gateway", cortex_argv("gateway")),
        child("worker-alerts", cortex_argv("worker", "--queues", "alerts")),
        child("worker-chats", cortex_argv("worker", "--queues", "chats")),
        child("worker-store", cortex_argv("worker", "--queues", "store")),
        child("controller", cortex_argv("controller")),
        child("flower", celery_argv("flower", f"--port={settings.flower_port}",
                                    "--address=127.0.0.1")),
    ]  # fmt: skip


def _start_backing(
    settings: CliSettings, env: dict[str, str], logs: Path
) -> tuple[RedisServer | None, Child | None]:
    redis_server = None
    if "redis_url" not in settings.model_fields_set:
        redis_server = RedisServer(port=_free_port(6380), data_dir=STATE_DIR / "redis")
        redis_server.start()
        env["CORTEX_REDIS_URL"] = redis_server.url
        REDIS_URL_FILE.write_text(redis_server.url + "\n")
    embedder = None
    if not _ollama_answers(settings.ollama_url):
        embedder = _start_embedder(settings, env, logs)
    return redis_server, embedder


def _start_embedder(settings: CliSettings, env: dict[str, str], logs: Path) -> Child:
    """The embedded model in its own process, and the stack configured for what it serves."""
    port = _free_port(11435)
    embedder = Child("embedder", cortex_argv("embedder", "--port", str(port)), env=env,
                     log=logs / "embedder.log")  # fmt: skip
    embedder.start()
    url = env["CORTEX_OLLAMA_URL"] = f"http://127.0.0.1:{port}"
    _wait_http(url + "/api/version", [embedder], timeout_s=60)
    model, dim = _served_model(url)
    # Workers, search and the collection check must agree with the server. MiniLM reads plain
    # text (no nomic-style `search_document: ` prefixes), and about 256 word pieces of it.
    env |= {"CORTEX_EMBED_MODEL": model, "CORTEX_EMBED_DIM": str(dim),
            "CORTEX_EMBED_DOC_PREFIX": "", "CORTEX_EMBED_QUERY_PREFIX": ""}  # fmt: skip
    env.setdefault("CORTEX_CHUNK_MAX_CHARS", "1000")
    env.setdefault("CORTEX_CHUNK_OVERLAP_CHARS", "100")
    typer.secho(
        f"No Ollama answered at {settings.ollama_url}: serving the embedded model {model} "
        f"({dim} dimensions, all-MiniLM-L6-v2 int8, offline, at most "
        f"{settings.embedder_threads} threads) at {url}.",
        fg="green", err=True,
    )  # fmt: skip
    return embedder


def _served_model(url: str) -> tuple[str, int]:
    """The model an embedder serves and its dimension, from /api/tags and /api/show."""
    [tag, *_] = requests.get(url + "/api/tags", timeout=5).json()["models"]
    show = requests.post(url + "/api/show", json={"model": tag["name"]}, timeout=5).json()
    info = show["model_info"]
    return tag["name"], int(info[f"{info['general.architecture']}.embedding_length"])


def run_dev(settings: CliSettings) -> int:
    """Start everything, print the URLs, supervise until Ctrl-C or a child dies; stop all."""
    logs = STATE_DIR / "logs"
    env = dict(os.environ)
    env.setdefault("CORTEX_QDRANT_PATH", str(STATE_DIR / "qdrant"))
    env["CORTEX_GATEWAY_PORT"] = str(settings.gateway_port)
    redis_server, embedder = None, None
    children: list[Child] = []
    try:
        redis_server, embedder = _start_backing(settings, env, logs)
        children = [c for c in [embedder] if c] + _children(settings, env, logs)
        for child in children:
            if not child.running():
                child.start()
        store = next(c for c in children if c.name == "worker-store")
        store.wait_for_log("ready.", timeout_s=60)  # it has opened and checked Qdrant
        _wait_http(f"http://127.0.0.1:{settings.gateway_port}/healthz", children, timeout_s=60)
        _print_urls(settings, env, logs)
        return _supervise(children)
    finally:
        for child in reversed(children):
            child.stop()
        if redis_server is not None:
            REDIS_URL_FILE.unlink(missing_ok=True)
            redis_server.stop()
        typer.echo("cortex dev stopped", err=True)


def _wait_http(url: str, children: list[Child], *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        for child in children:
            if not child.running():
                raise RuntimeError(f"{child.name} exited during start-up:\n{child.tail()}")
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {timeout_s}s")


def _print_urls(settings: CliSettings, env: dict[str, str], logs: Path) -> None:
    port = settings.gateway_port
    typer.echo(
        "\ncluster-cortex is running (Ctrl-C stops everything)\n"
        f"  gateway   http://127.0.0.1:{port}  (POST /v1/alerts/alertmanager, GET /v1/search)\n"
        f"  stats     http://127.0.0.1:{port}/v1/stats\n"
        f"  flower    http://127.0.0.1:{settings.flower_port}\n"
        f"  redis     {env.get('CORTEX_REDIS_URL', settings.redis_url)}\n"
        f"  ollama    {env.get('CORTEX_OLLAMA_URL', settings.ollama_url)}\n"
        f"  qdrant    {env.get('CORTEX_QDRANT_URL') or env['CORTEX_QDRANT_PATH']} \n"
        f"  logs      {logs}/\n",
        err=False,
    )


def _supervise(children: list[Child]) -> int:
    stop = False

    def _on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _on_signal)
    try:
        while not stop:
            for child in children:
                if not child.running():
                    typer.secho(
                        f"{child.name} exited; stopping.\n{child.tail()}", fg="red", err=True
                    )
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    return 0
