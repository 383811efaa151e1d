"""Ollama's embedding API over HTTP, served for any `Backend`: parsing, routes and replies.

The real model (`modelserver`) and the word-hash test double (`devembedder`) are both served
by these routes, so clients meet one API whichever answers.

Bodies are read by Content-Length only and capped; a request is answered with Ollama's own
status codes and `{"error": ...}` bodies, so clients meet the errors they would meet in
production.
"""

import functools
import sys
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
import orjson

VERSION = "0.0.0-cortex-dev"
MAX_BODY_BYTES = 64 * 1024 * 1024


class Reject(Exception):
    """A request answered with an error status and an Ollama-style `{"error": ...}` body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_object(body: bytes) -> dict[str, Any]:
    """Parse a request body that must be a JSON object."""
    if not body:
        raise Reject(400, "missing request body")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Reject(400, f"invalid JSON body: {exc}") from exc
    if not isinstance(data, dict):
        raise Reject(400, "request body must be a JSON object")
    return data


def _model(request: Mapping[str, Any]) -> str:
    """The required model name."""
    model = request.get("model")
    if not isinstance(model, str) or not model:
        raise Reject(400, "model is required")
    return model


def _inputs(value: object) -> list[str]:
    """The texts of /api/embed's `input`; a missing or empty input embeds nothing, as in Ollama."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise Reject(400, "invalid input type: input must be a string or a list of strings")


def _dimensions(value: object, default: int, maximum: int) -> int:
    """The `dimensions` of one call; absent or 0 means the server's own, as in Ollama."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise Reject(400, f"dimensions must be an integer in 0..{maximum}")
    return value or default


def _num_thread(options: object) -> int | None:
    """`options.num_thread` of a call, as Ollama reads it (absent: its own default)."""
    if options is None:
        return None
    if not isinstance(options, dict):
        raise Reject(400, "options must be an object")
    value = options.get("num_thread")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Reject(400, "num_thread must be a non-negative integer")
    return value


Reply = tuple[int, object]
Route = Callable[[bytes], Reply]
Routes = Mapping[tuple[str, str], Route]
# What /api/embed answers with: lists of floats, or a float32 array (orjson writes it as is).
Embeddings = list[list[float]] | npt.NDArray[np.float32]


class Backend(Protocol):
    """What the routes need of a model: its dimensions, one metered call, and how it is named."""

    dim: int
    max_dim: int

    def embed_call(
        self, model: str, texts: list[str], dim: int, num_thread: int | None
    ) -> tuple[Embeddings, int]:
        """Embed texts as one API call; returns the vectors and the tokens read (may Reject)."""

    def tags(self) -> list[dict[str, object]]:
        """The entries of /api/tags, one per model name it answers for."""

    def show(self, model: str) -> dict[str, object]:
        """/api/show of one model (raises Reject(404) for a model it does not serve)."""


def _embed(backend: Backend, body: bytes) -> Reply:
    """POST /api/embed."""
    request = json_object(body)
    model = _model(request)
    texts = _inputs(request.get("input"))
    dim = _dimensions(request.get("dimensions"), backend.dim, backend.max_dim)
    num_thread = _num_thread(request.get("options"))
    started_ns = time.perf_counter_ns()
    vectors, n_tokens = backend.embed_call(model, texts, dim, num_thread)
    return 200, {
        "model": model,
        "embeddings": vectors,
        "total_duration": time.perf_counter_ns() - started_ns,
        "load_duration": 0,
        "prompt_eval_count": n_tokens,
    }


def _embeddings(backend: Backend, body: bytes) -> Reply:
    """POST /api/embeddings, the legacy single-prompt endpoint."""
    request = json_object(body)
    model = _model(request)
    prompt = request.get("prompt", "")
    if not isinstance(prompt, str):
        raise Reject(400, "prompt must be a string")
    vectors, _ = backend.embed_call(model, [prompt] if prompt else [], backend.dim, None)
    return 200, {"embedding": vectors[0] if len(vectors) else []}


def _show(backend: Backend, body: bytes) -> Reply:
    """POST /api/show: a model's details, with `<arch>.embedding_length` in `model_info`."""
    request = json_object(body)
    name = request.get("model") or request.get("name")  # older clients send `name`
    if not isinstance(name, str) or not name:
        raise Reject(400, "model is required")
    return 200, backend.show(name)


def api_routes(backend: Backend) -> dict[tuple[str, str], Route]:
    """Ollama's routes, answered by `backend`."""
    return {
        ("GET", "/"): lambda body: (200, "Ollama is running"),
        ("GET", "/api/version"): lambda body: (200, {"version": VERSION}),
        ("GET", "/api/tags"): lambda body: (200, {"models": backend.tags()}),
        ("POST", "/api/show"): functools.partial(_show, backend),
        ("POST", "/api/embed"): functools.partial(_embed, backend),
        ("POST", "/api/embeddings"): functools.partial(_embeddings, backend),
    }


class Server(ThreadingHTTPServer):
    """A threading HTTP server that knows its routes and never waits for its threads."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], routes: Routes) -> None:
        super().__init__(address, Handler)
        self.routes = routes

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hung up (a timed-out test call); print anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """One connection: keep-alive HTTP/1.1, every reply with a Content-Length."""

    protocol_version = "HTTP/1.1"
    server_version = "cortex-dev-embedder"
    # Headers and body go out as two writes: with Nagle on, every kept-alive call would wait
    # for the client's delayed ACK (~40 ms). Ollama (Go's net/http) sets TCP_NODELAY too.
    disable_nagle_algorithm = True
    timeout = 60.0  # an idle keep-alive connection frees its thread after this
    server: Server

    def do_GET(self) -> None:
        """Answer a GET."""
        self._dispatch()

    def do_POST(self) -> None:
        """Answer a POST."""
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: a line per request would drown test output and `cortex dev` logs."""

    def _dispatch(self) -> None:
        """Read the body, route the request and reply, turning rejections into JSON errors."""
        path = urlsplit(self.path).path
        try:
            body = self._read_body()
            route = self.server.routes.get((self.command, path))
            if route is None:
                raise Reject(404, f"{self.command} {path} not found")
            status, payload = route(body)
        except Reject as exc:
            status, payload = exc.status, {"error": exc.message}
        self._reply(status, payload)

    def _read_body(self) -> bytes:
        """The body by Content-Length; a body left unread closes the connection after the reply."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise Reject(411, "chunked bodies are not supported: send a Content-Length")
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise Reject(400, "invalid Content-Length")
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise Reject(413, f"request body over {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, payload: object) -> None:
        """Send text as text/plain and anything else as JSON."""
        if isinstance(payload, str):
            data, content_type = payload.encode(), "text/plain; charset=utf-8"
        else:
            data = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
            content_type = "application/json; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
