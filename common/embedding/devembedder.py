"""A stand-in for Ollama's embedding API: deterministic word-hash vectors for dev and tests."""

import contextlib
import hashlib
import math
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypedDict
from urllib.parse import urlsplit

import orjson

BANNER = """\
==============================================================================
  cortex dev embedder: THIS IS NOT A REAL EMBEDDING MODEL.
  It speaks Ollama's API but returns deterministic word-hash vectors, meant
  for development and tests only. Texts that share words or spellings land
  close together; there is no semantic understanding (synonyms, paraphrases
  and other languages are unrelated), so search quality here means nothing.
  For real use, run Ollama and point CORTEX_OLLAMA_URL at it.
=============================================================================="""

VERSION = "0.0.0-cortex-dev"
DEFAULT_MODEL = "nomic-embed-text:latest"
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_DIM = 65536
TEXTS_KEPT = 10_000
_BUSY = "server busy, please try again.  maximum pending requests exceeded"
_WORD = re.compile(r"\w+")
# Trigrams of a word share half its weight, so a near-spelling is close but a shared word wins.
_TRIGRAM_SHARE = 0.5
_POLL_S = 0.05


def _bucket(key: bytes, dim: int) -> tuple[int, float]:
    """Map a feature to a bucket index and a sign, stably across processes."""
    value = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
    return (value >> 1) % dim, 1.0 if value & 1 else -1.0


@lru_cache(maxsize=16384)
def _features(word: str, dim: int) -> tuple[tuple[int, float], ...]:
    """The weighted buckets of one lowercase word: the word itself plus its padded trigrams."""
    index, sign = _bucket(b"w:" + word.encode(), dim)
    padded = f"<{word}>"
    trigrams = [padded[i : i + 3] for i in range(len(padded) - 2)]
    weight = math.sqrt(_TRIGRAM_SHARE / len(trigrams))
    grams = (_bucket(b"t:" + gram.encode(), dim) for gram in trigrams)
    return ((index, sign), *((i, s * weight) for i, s in grams))


def _tokens(text: str) -> list[str]:
    """Lowercase word tokens, unicode aware."""
    return _WORD.findall(text.lower())


def embed_text(text: str, dim: int) -> list[float]:
    """Return a deterministic unit vector of `dim` floats; texts sharing words land close."""
    if not 1 <= dim <= MAX_DIM:
        raise ValueError(f"dim must be in 1..{MAX_DIM}, got {dim}")
    vector = [0.0] * dim
    words = _tokens(text)
    if not words:
        index, sign = _bucket(b"no-tokens", dim)
        vector[index] = sign
        return vector
    for word in words:
        for index, weight in _features(word, dim):
            vector[index] += weight
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0.0:  # every feature cancelled out by sign collisions: vanishingly rare
        return embed_text("", dim)
    return [x / norm for x in vector]


class EmbedderStats(TypedDict):
    """Counters of a DevEmbedder; `texts` lists the last TEXTS_KEPT embedded texts in order."""

    calls: int
    inputs: int
    in_flight: int
    peak_in_flight: int
    errors: int
    texts: list[str]
    # How many calls asked for each `options.num_thread` ("default": no thread count asked).
    num_threads: dict[str, int]


@dataclass
class _Config:
    """Injected latency and faults."""

    delay_s: float = 0.0
    per_input_delay_s: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    fail_next: int = 0


@dataclass
class _Counters:
    """Mutable counters behind stats(), guarded by the embedder's lock."""

    calls: int = 0
    inputs: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    errors: int = 0
    texts: list[str] = field(default_factory=list)
    num_threads: dict[str, int] = field(default_factory=dict)


_LIMITS: dict[str, tuple[type, float, float]] = {
    "delay_s": (float, 0.0, 3600.0),
    "per_input_delay_s": (float, 0.0, 600.0),
    "error_rate": (float, 0.0, 1.0),
    "error_status": (int, 400, 599),
    "fail_next": (int, 0, 10**9),
}


def _validated(settings: Mapping[str, object]) -> dict[str, Any]:
    """Check configure() settings by name, type and range; ValueError names the bad one."""
    unknown = sorted(settings.keys() - _LIMITS.keys())
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
    checked: dict[str, Any] = {}
    for name, value in settings.items():
        kind, low, high = _LIMITS[name]
        wrong_kind = kind is int and not isinstance(value, int)
        if isinstance(value, bool) or not isinstance(value, int | float) or wrong_kind:
            raise ValueError(f"{name} must be {kind.__name__}, got {value!r}")
        if not low <= value <= high:
            raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")
        checked[name] = kind(value)
    return checked


class _Reject(Exception):
    """A request answered with an error status and an Ollama-style `{"error": ...}` body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _injected_error(status: int) -> _Reject:
    """The error an injected fault answers with, worded as Ollama words it."""
    if status == 503:
        return _Reject(status, _BUSY)
    return _Reject(status, "failed to generate embedding: injected fault (cortex dev embedder)")


class DevEmbedder:
    """An HTTP server speaking Ollama's embedding API, with injectable latency and faults."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        dim: int = 768,
        model_names: frozenset[str] | None = None,
    ) -> None:
        if not 1 <= dim <= MAX_DIM:
            raise ValueError(f"dim must be in 1..{MAX_DIM}, got {dim}")
        self.dim = dim
        self.model_names = model_names
        self._host, self._port = host, port
        self._server: _Server | None = None
        self._url: str | None = None
        self._thread: threading.Thread | None = None
        self._serving = False
        self._lock = threading.Lock()
        self._config = _Config()
        self._error_debt = 0.0
        self._counters = _Counters()

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:PORT; binds the port on first use."""
        if self._url is None:
            self._bind()
        assert self._url is not None
        return self._url

    def start(self) -> None:
        """Bind and serve in a daemon thread; returns at once."""
        if self._thread is not None:
            raise RuntimeError("DevEmbedder already started")
        self._bind()
        self._serving = True
        self._thread = threading.Thread(
            target=self.serve_forever, name="cortex-dev-embedder", daemon=True
        )
        self._thread.start()

    def serve_forever(self) -> None:
        """Bind if needed and serve in the calling thread until stop() or an interrupt."""
        server = self._bind()
        self._serving = True
        try:
            server.serve_forever(poll_interval=_POLL_S)
        finally:
            self._serving = False

    def stop(self) -> None:
        """Stop serving and release the port; a no-op when not bound."""
        server, self._server = self._server, None
        if server is None:
            return
        if self._serving:
            server.shutdown()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        server.server_close()

    def stats(self) -> EmbedderStats:
        """A consistent snapshot of the counters, with a copy of the embedded texts."""
        with self._lock:
            c = self._counters
            return EmbedderStats(
                calls=c.calls,
                inputs=c.inputs,
                in_flight=c.in_flight,
                peak_in_flight=c.peak_in_flight,
                errors=c.errors,
                texts=list(c.texts),
                num_threads=dict(c.num_threads),
            )

    def reset_stats(self) -> None:
        """Zero the counters and forget the texts; calls still running stay counted in flight."""
        with self._lock:
            in_flight = self._counters.in_flight
            self._counters = _Counters(in_flight=in_flight, peak_in_flight=in_flight)

    def reset(self) -> None:
        """Restore default behaviour (no delay, no faults) and zero the stats."""
        with self._lock:
            self._config = _Config()
            self._error_debt = 0.0
        self.reset_stats()

    def configure(
        self,
        *,
        delay_s: float | None = None,
        per_input_delay_s: float | None = None,
        error_rate: float | None = None,
        error_status: int | None = None,
        fail_next: int | None = None,
    ) -> None:
        """Change latency and faults for later calls; None leaves a setting unchanged.

        A call sleeps delay_s + len(inputs) * per_input_delay_s. Faults answer at once with
        error_status: first the next `fail_next` calls, then an evenly spread `error_rate`
        share of calls (deterministic: 0.25 fails every 4th call).
        """
        settings = {
            "delay_s": delay_s,
            "per_input_delay_s": per_input_delay_s,
            "error_rate": error_rate,
            "error_status": error_status,
            "fail_next": fail_next,
        }
        self._reconfigure(settings)

    def _reconfigure(self, settings: Mapping[str, object]) -> None:
        """Validate and apply settings given by name; None values are ignored."""
        checked = _validated({k: v for k, v in settings.items() if v is not None})
        with self._lock:
            self._config = replace(self._config, **checked)
            if "error_rate" in checked:
                self._error_debt = 0.0

    def _bind(self) -> "_Server":
        """The bound server, created on first use."""
        if self._server is None:
            self._server = _Server((self._host, self._port), self)
            self._url = f"http://{self._host}:{self._server.server_port}"
        return self._server

    def _check_model(self, model: str) -> None:
        """Reject a model this server was not told about, as Ollama does for an unpulled one."""
        names = self.model_names
        if names is None or model in names or (":" not in model and f"{model}:latest" in names):
            return
        raise _Reject(404, f'model "{model}" not found, try pulling it first')

    def _admit(self, n_inputs: int) -> float:
        """Count a call in flight and return its delay, or raise the fault injected for it."""
        with self._lock:
            config, c = self._config, self._counters
            if config.fail_next > 0:
                config.fail_next -= 1
                c.errors += 1
                raise _injected_error(config.error_status)
            self._error_debt += config.error_rate
            # The epsilon keeps rates like 0.1 exact despite float sums (ten 0.1s < 1.0).
            if self._error_debt >= 1.0 - 1e-9:
                self._error_debt -= 1.0
                c.errors += 1
                raise _injected_error(config.error_status)
            c.in_flight += 1
            c.peak_in_flight = max(c.peak_in_flight, c.in_flight)
            return config.delay_s + n_inputs * config.per_input_delay_s

    def _metered_embed(
        self, model: str, texts: list[str], dim: int, num_thread: int | None = None
    ) -> list[list[float]]:
        """Embed texts as one API call: model check, injected faults, delay, counters."""
        self._check_model(model)
        delay_s = self._admit(len(texts))
        try:
            time.sleep(delay_s)
            vectors = [embed_text(text, dim) for text in texts]
        finally:
            with self._lock:
                self._counters.in_flight -= 1
        with self._lock:
            self._counters.calls += 1
            self._counters.inputs += len(texts)
            self._counters.texts.extend(texts)
            threads, asked = self._counters.num_threads, str(num_thread or "default")
            threads[asked] = threads.get(asked, 0) + 1
            # Bounded so a long `cortex dev` session or a benchmark cannot grow without limit.
            del self._counters.texts[:-TEXTS_KEPT]
        return vectors


def _json_object(body: bytes) -> dict[str, Any]:
    """Parse a request body that must be a JSON object."""
    if not body:
        raise _Reject(400, "missing request body")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _Reject(400, f"invalid JSON body: {exc}") from exc
    if not isinstance(data, dict):
        raise _Reject(400, "request body must be a JSON object")
    return data


def _model(request: Mapping[str, Any]) -> str:
    """The required model name."""
    model = request.get("model")
    if not isinstance(model, str) or not model:
        raise _Reject(400, "model is required")
    return model


def _inputs(value: object) -> list[str]:
    """The texts of /api/embed's `input`; a missing or empty input embeds nothing, as in Ollama."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise _Reject(400, "invalid input type: input must be a string or a list of strings")


def _dimensions(value: object, default: int) -> int:
    """The `dimensions` of one call; absent or 0 means the server's own, as in Ollama."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DIM:
        raise _Reject(400, f"dimensions must be an integer in 0..{MAX_DIM}")
    return value or default


def _num_thread(options: object) -> int | None:
    """`options.num_thread` of a call, as Ollama reads it (absent: its own default)."""
    if options is None:
        return None
    if not isinstance(options, dict):
        raise _Reject(400, "options must be an object")
    value = options.get("num_thread")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Reject(400, "num_thread must be a non-negative integer")
    return value


_Reply = tuple[int, object]


def _embed(embedder: DevEmbedder, body: bytes) -> _Reply:
    """POST /api/embed."""
    request = _json_object(body)
    model = _model(request)
    texts = _inputs(request.get("input"))
    dim = _dimensions(request.get("dimensions"), embedder.dim)
    started_ns = time.perf_counter_ns()
    vectors = embedder._metered_embed(model, texts, dim, _num_thread(request.get("options")))
    return 200, {
        "model": model,
        "embeddings": vectors,
        "total_duration": time.perf_counter_ns() - started_ns,
        "load_duration": 0,
        "prompt_eval_count": sum(len(_tokens(text)) for text in texts),
    }


def _embeddings(embedder: DevEmbedder, body: bytes) -> _Reply:
    """POST /api/embeddings, the legacy single-prompt endpoint."""
    request = _json_object(body)
    model = _model(request)
    prompt = request.get("prompt", "")
    if not isinstance(prompt, str):
        raise _Reject(400, "prompt must be a string")
    vectors = embedder._metered_embed(model, [prompt] if prompt else [], embedder.dim)
    return 200, {"embedding": vectors[0] if vectors else []}


def _tags(embedder: DevEmbedder, body: bytes) -> _Reply:
    """GET /api/tags: the models this server answers for."""
    names = sorted(embedder.model_names or {DEFAULT_MODEL})
    return 200, {"models": [{"name": name, "model": name} for name in names]}


def _dev_config(embedder: DevEmbedder, body: bytes) -> _Reply:
    """POST /_dev/config: configure() over HTTP."""
    try:
        embedder._reconfigure(_json_object(body))
    except ValueError as exc:
        raise _Reject(400, str(exc)) from exc
    return 200, {"ok": True}


def _dev_reset(embedder: DevEmbedder, body: bytes) -> _Reply:
    """POST /_dev/reset: reset() over HTTP."""
    embedder.reset()
    return 200, {"ok": True}


_ROUTES: dict[tuple[str, str], Callable[[DevEmbedder, bytes], _Reply]] = {
    ("GET", "/"): lambda embedder, body: (200, "Ollama is running"),
    ("GET", "/api/version"): lambda embedder, body: (200, {"version": VERSION}),
    ("GET", "/api/tags"): _tags,
    ("POST", "/api/embed"): _embed,
    ("POST", "/api/embeddings"): _embeddings,
    ("GET", "/_dev/stats"): lambda embedder, body: (200, embedder.stats()),
    ("POST", "/_dev/config"): _dev_config,
    ("POST", "/_dev/reset"): _dev_reset,
}


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that knows its embedder and never waits for its threads."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], embedder: DevEmbedder) -> None:
        super().__init__(address, _Handler)
        self.embedder = embedder

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hung up (a timed-out test call); print anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """One connection: keep-alive HTTP/1.1, every reply with a Content-Length."""

    protocol_version = "HTTP/1.1"
    server_version = "cortex-dev-embedder"
    # Headers and body go out as two writes: with Nagle on, every kept-alive call would wait
    # for the client's delayed ACK (~40 ms). Ollama (Go's net/http) sets TCP_NODELAY too.
    disable_nagle_algorithm = True
    timeout = 60.0  # an idle keep-alive connection frees its thread after this
    server: _Server

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
            route = _ROUTES.get((self.command, path))
            if route is None:
                raise _Reject(404, f"{self.command} {path} not found")
            status, payload = route(self.server.embedder, body)
        except _Reject as exc:
            status, payload = exc.status, {"error": exc.message}
        self._reply(status, payload)

    def _read_body(self) -> bytes:
        """The body by Content-Length; a body left unread closes the connection after the reply."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise _Reject(411, "chunked bodies are not supported: send a Content-Length")
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise _Reject(400, "invalid Content-Length")
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise _Reject(413, f"request body over {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, payload: object) -> None:
        """Send text as text/plain and anything else as JSON."""
        if isinstance(payload, str):
            data, content_type = payload.encode(), "text/plain; charset=utf-8"
        else:
            data, content_type = orjson.dumps(payload), "application/json; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


def run(host: str, port: int, *, dim: int) -> None:
    """Serve in the foreground, announcing that the vectors are fake, until interrupted."""
    embedder = DevEmbedder(host, port, dim=dim)
    print(BANNER, file=sys.stderr)
    print(f"Serving Ollama's API at {embedder.url} (dim {dim}); Ctrl-C stops.", file=sys.stderr)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            embedder.serve_forever()
    finally:
        embedder.stop()
