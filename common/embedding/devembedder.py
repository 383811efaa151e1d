"""A stand-in for Ollama's embedding API, with injectable latency and faults, for dev and tests.

It answers with word-hash vectors (`wordhash`) over Ollama's HTTP API (`devapi`) and says
loudly, at start-up and in its docstrings, that it is not a real model.
"""

import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict

from common.embedding.devapi import Embeddings, Reject, Reply, Routes, api_routes, json_object
from common.embedding.serving import Service
from common.embedding.wordhash import MAX_DIM, embed_text, tokens

BANNER = """\
==============================================================================
  cortex dev embedder: THIS IS NOT A REAL EMBEDDING MODEL.
  It speaks Ollama's API but returns deterministic word-hash vectors, meant
  for development and tests only. Texts that share words or spellings land
  close together; there is no semantic understanding (synonyms, paraphrases
  and other languages are unrelated), so search quality here means nothing.
  For real use, run Ollama and point CORTEX_OLLAMA_URL at it.
=============================================================================="""

DEFAULT_MODEL = "nomic-embed-text:latest"
TEXTS_KEPT = 10_000
_BUSY = "server busy, please try again.  maximum pending requests exceeded"


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


def _injected_error(status: int) -> Reject:
    """The error an injected fault answers with, worded as Ollama words it."""
    if status == 503:
        return Reject(status, _BUSY)
    return Reject(status, "failed to generate embedding: injected fault (cortex dev embedder)")


class DevEmbedder(Service):
    """An HTTP server speaking Ollama's embedding API, with injectable latency and faults."""

    max_dim = MAX_DIM

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
        super().__init__(host, port)
        self.dim = dim
        self.model_names = model_names
        self._lock = threading.Lock()
        self._config = _Config()
        self._error_debt = 0.0
        self._counters = _Counters()

    def routes(self) -> Routes:
        """Ollama's routes plus /_dev/stats, /_dev/config and /_dev/reset."""
        return api_routes(self) | {
            ("GET", "/_dev/stats"): lambda body: (200, self.stats()),
            ("POST", "/_dev/config"): self._config_over_http,
            ("POST", "/_dev/reset"): self._reset_over_http,
        }

    def tags(self) -> list[dict[str, object]]:
        """The models this server answers for (any, reported as DEFAULT_MODEL, if unset)."""
        names = sorted(self.model_names or {DEFAULT_MODEL})
        return [{"name": name, "model": name} for name in names]

    def show(self, model: str) -> dict[str, object]:
        """/api/show: a word-hash "model" of this server's dimension."""
        self._check_model(model)
        return {
            "details": {"format": "word-hash", "family": "wordhash"},
            "model_info": {
                "general.architecture": "wordhash",
                "wordhash.embedding_length": self.dim,
            },
            "capabilities": ["embedding"],
        }

    def embed_call(
        self, model: str, texts: list[str], dim: int, num_thread: int | None
    ) -> tuple[Embeddings, int]:
        """metered_embed(), with its word count as the tokens read."""
        vectors = self.metered_embed(model, texts, dim, num_thread)
        return vectors, sum(len(tokens(text)) for text in texts)

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
        """Start new counters and forget the texts.

        A call still running was admitted under the old counters and ends there: a stopped
        stack's call still sleeping out its delay must not count in flight (or as a call) for
        whoever reads the new ones.
        """
        with self._lock:
            self._counters = _Counters()

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
        self.configure_from(settings)

    def _config_over_http(self, body: bytes) -> Reply:
        """POST /_dev/config: configure() over HTTP."""
        try:
            self.configure_from(json_object(body))
        except ValueError as exc:
            raise Reject(400, str(exc)) from exc
        return 200, {"ok": True}

    def _reset_over_http(self, body: bytes) -> Reply:
        """POST /_dev/reset: reset() over HTTP."""
        self.reset()
        return 200, {"ok": True}

    def configure_from(self, settings: Mapping[str, object]) -> None:
        """Validate and apply settings given by name; None values are ignored."""
        checked = _validated({k: v for k, v in settings.items() if v is not None})
        with self._lock:
            self._config = replace(self._config, **checked)
            if "error_rate" in checked:
                self._error_debt = 0.0

    def _check_model(self, model: str) -> None:
        """Reject a model this server was not told about, as Ollama does for an unpulled one."""
        names = self.model_names
        if names is None or model in names or (":" not in model and f"{model}:latest" in names):
            return
        raise Reject(404, f'model "{model}" not found, try pulling it first')

    def _admit(self, n_inputs: int) -> tuple[float, _Counters]:
        """Count a call in flight: its delay and its counters, or raise the fault injected."""
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
            return config.delay_s + n_inputs * config.per_input_delay_s, c

    def metered_embed(
        self, model: str, texts: list[str], dim: int, num_thread: int | None = None
    ) -> list[list[float]]:
        """Embed texts as one API call: model check, injected faults, delay, counters."""
        self._check_model(model)
        delay_s, c = self._admit(len(texts))
        try:
            time.sleep(delay_s)
            vectors = [embed_text(text, dim) for text in texts]
        finally:
            with self._lock:
                c.in_flight -= 1
        with self._lock:
            c.calls += 1
            c.inputs += len(texts)
            c.texts.extend(texts)
            threads, asked = c.num_threads, str(num_thread or "default")
            threads[asked] = threads.get(asked, 0) + 1
            # Bounded so a long `cortex dev` session or a benchmark cannot grow without limit.
            del c.texts[:-TEXTS_KEPT]
        return vectors


def run(host: str, port: int, *, dim: int) -> None:
    """Serve in the foreground, announcing that the vectors are fake, until interrupted."""
    embedder = DevEmbedder(host, port, dim=dim)
    print(BANNER, file=sys.stderr)
    print(f"Serving Ollama's API at {embedder.url} (dim {dim}); Ctrl-C stops.", file=sys.stderr)
    embedder.serve_until_interrupted()
