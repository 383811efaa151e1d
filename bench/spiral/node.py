"""A simulated embedding node: Ollama's embed API on N cores shared by processor sharing.

The model. The node has `cores` cores and a background load of `background_cores` (other
pods, plus what the scenario adds: crash-looping pods restarting). Each embedding call, like
Ollama without a CPU limit, tries to use every core, so k calls at once put a load of
`k * cores + background` on the node:

    pressure = (k * cores + background) / cores = k + background / cores

A call needs `per_input_s * n_inputs` seconds of the whole node (Ollama embeds a list
serially) and progresses at `1 / max(1, pressure)` of full speed, as every runnable thread
gets an equal share. Pressure above 1.0 means more runnable work than cores: node02's load
average above 16 in the incident. Completions are computed exactly from these rates by one
scheduler thread, so latency is accurate to the thread wake-up time (about a millisecond).
"""

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from bench.spiral.httpserver import QuietHandler, QuietServer
from common.devembedder import embed_text

_DONE_EPSILON_S = 1e-6


@dataclass
class _Call:
    remaining_s: float
    done: threading.Event = field(default_factory=threading.Event)
    ok: bool = True


@dataclass(frozen=True)
class Mark:
    """A point in the node's history: when, and the pressure integral so far."""

    at: float
    integral: float
    over_s: float


@dataclass(frozen=True)
class NodeStats:
    """The node's counters since start."""

    pressure: float
    in_flight: int
    peak_calls: int
    peak_pressure: float
    calls: int
    inputs: int


class NodeModel:
    """Processor sharing of the node between running calls and the background load."""

    def __init__(self, *, cores: int, background_cores: float, per_input_s: float) -> None:
        self.cores = cores
        self.background_cores = background_cores
        self.per_input_s = per_input_s
        self._cond = threading.Condition()
        self._calls: list[_Call] = []
        self._extra_cores = 0.0
        self._last = time.monotonic()
        self._integral = 0.0
        self._over_s = 0.0
        self._calm_since: float | None = self._last
        self._peak_calls = 0
        self._peak_pressure = self._pressure()
        self._n_calls = 0
        self._n_inputs = 0
        self._closed = False
        self._thread = threading.Thread(target=self._complete_loop, name="node", daemon=True)
        self._thread.start()

    def embed(self, n_inputs: int) -> bool:
        """Block for as long as `n_inputs` inputs take now; False if the node shut down."""
        call = _Call(self.per_input_s * n_inputs)
        with self._cond:
            if self._closed:
                return False
            now = self._advance()
            self._calls.append(call)
            self._n_calls += 1
            self._n_inputs += n_inputs
            self._changed(now)
        call.done.wait()
        return call.ok

    def set_extra_load(self, cores: float) -> None:
        """Background load added by the scenario (crash-looping pods restarting)."""
        with self._cond:
            now = self._advance()
            self._extra_cores = cores
            self._changed(now)

    def mark(self) -> Mark:
        """The pressure integral now, to average over a window later."""
        with self._cond:
            now = self._advance()
            return Mark(at=now, integral=self._integral, over_s=self._over_s)

    def calm_since(self) -> float | None:
        """Since when pressure has been at or below 1.0 (monotonic time), or None if above."""
        with self._cond:
            return self._calm_since

    def stats(self) -> NodeStats:
        """A consistent snapshot of the counters."""
        with self._cond:
            return NodeStats(
                pressure=self._pressure(), in_flight=len(self._calls),
                peak_calls=self._peak_calls, peak_pressure=self._peak_pressure,
                calls=self._n_calls, inputs=self._n_inputs,
            )  # fmt: skip

    def close(self) -> None:
        """Fail every running call and refuse new ones, so no client thread hangs."""
        with self._cond:
            self._closed = True
            for call in self._calls:
                call.ok = False
                call.done.set()
            self._calls.clear()
            self._cond.notify_all()
        self._thread.join(timeout=5)

    def _pressure(self) -> float:
        return len(self._calls) + (self.background_cores + self._extra_cores) / self.cores

    def _advance(self) -> float:
        # Every running call progressed at the same rate since the last change.
        now = time.monotonic()
        elapsed = now - self._last
        if elapsed > 0:
            pressure = self._pressure()
            rate = 1.0 / max(1.0, pressure)
            for call in self._calls:
                call.remaining_s -= elapsed * rate
            self._integral += elapsed * pressure
            if pressure > 1.0:
                self._over_s += elapsed
            self._last = now
        return now

    def _changed(self, now: float) -> None:
        pressure = self._pressure()
        self._peak_calls = max(self._peak_calls, len(self._calls))
        self._peak_pressure = max(self._peak_pressure, pressure)
        if pressure > 1.0:
            self._calm_since = None
        elif self._calm_since is None:
            self._calm_since = now
        self._cond.notify_all()

    def _complete_loop(self) -> None:
        with self._cond:
            while not self._closed:
                now = self._advance()
                finished = [c for c in self._calls if c.remaining_s <= _DONE_EPSILON_S]
                if finished:
                    self._calls = [c for c in self._calls if c.remaining_s > _DONE_EPSILON_S]
                    for call in finished:
                        call.done.set()
                    self._changed(now)
                self._cond.wait(timeout=self._next_completion_s())

    def _next_completion_s(self) -> float | None:
        if not self._calls:
            return None
        rate = 1.0 / max(1.0, self._pressure())
        return max(0.0, min(c.remaining_s for c in self._calls) / rate)


class SimulatedNode:
    """The node's model behind an HTTP server speaking Ollama's `/api/embed`, in a thread."""

    def __init__(self, model: NodeModel, *, dim: int) -> None:
        self.model = model
        self.dim = dim
        self._server = _Server(("127.0.0.1", 0), self)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        """Fail calls in flight, stop serving and release the port."""
        self.model.close()
        self._server.shutdown()
        self._server.server_close()

    def embed(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one `/api/embed` request body as Ollama would, taking the model's time."""
        raw = body.get("input")
        texts = [raw] if isinstance(raw, str) and raw else raw or []
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return 400, {"error": "invalid input type"}
        started = time.perf_counter_ns()
        if texts and not self.model.embed(len(texts)):
            return 503, {"error": "server busy, please try again (node shutting down)"}
        return 200, {
            "model": body.get("model", ""),
            "embeddings": [embed_text(text, self.dim) for text in texts],
            "total_duration": time.perf_counter_ns() - started,
            "load_duration": 0,
            "prompt_eval_count": sum(len(t.split()) for t in texts),
        }


class _Server(QuietServer):
    def __init__(self, address: tuple[str, int], node: SimulatedNode) -> None:
        super().__init__(address, _Handler)
        self.node = node


class _Handler(QuietHandler):
    server: _Server

    def do_GET(self) -> None:
        """`/api/version` and `/` for health checks."""
        if self.path == "/api/version":
            self._reply(200, {"version": "0.0.0-spiral-sim"})
        elif self.path == "/":
            self._reply(200, "Ollama is running")
        else:
            self._reply(404, {"error": f"GET {self.path} not found"})

    def do_POST(self) -> None:
        """`/api/embed` only."""
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if self.path != "/api/embed":
            self._reply(404, {"error": f"POST {self.path} not found"})
            return
        try:
            request = orjson.loads(body)
        except orjson.JSONDecodeError:
            self._reply(400, {"error": "invalid JSON body"})
            return
        self._reply(*self.server.node.embed(request if isinstance(request, dict) else {}))

    def _reply(self, status: int, payload: object) -> None:
        data = payload.encode() if isinstance(payload, str) else orjson.dumps(payload)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def start_node(
    *, cores: int, background_cores: float, per_input_s: float, dim: int
) -> SimulatedNode:
    """A running simulated node on a free loopback port."""
    model = NodeModel(cores=cores, background_cores=background_cores, per_input_s=per_input_s)
    node = SimulatedNode(model, dim=dim)
    node.start()
    return node
