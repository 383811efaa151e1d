"""A simulated embedding node: Ollama's embed API on N cores shared by processor sharing.

The model. The node has `cores` cores and a background load of `background_cores` (other
pods, plus what the scenario adds: crash-looping pods restarting). A call runs `t` threads:
`options.num_thread` when the request sends it, else the node's `default_threads` (Ollama
without a CPU limit runs one thread per core; a derived model with `PARAMETER num_thread 4`
runs 4). Its work is `per_input_s * cores * n_inputs` core-seconds (`per_input_s` is one input
on the whole idle node; Ollama embeds a list serially). With D the demand in runnable threads,

    D = sum of t over running calls + background + extra,    pressure = D / cores,

and every call progresses at `t * min(1, cores / D)` core-seconds per second, as every
runnable thread gets an equal share of the cores. With `t = cores` this is
`pressure = calls + background / cores` and `1 / max(1, pressure)` of full speed. Pressure
above 1.0 means more runnable work than cores: node02's load average above 16 in the incident.
Completions are computed exactly from these rates by one scheduler thread, so latency is
accurate to the thread wake-up time (about a millisecond).

The HTTP side, and the log of every call, are in nodeserver.py.
"""

import threading
import time
from dataclasses import dataclass, field

_DONE_EPSILON = 1e-6  # core-seconds
# A call counts as slowed by the node when it took this much longer than on an idle node.
_HEALTHY_STRETCH = 1.05


@dataclass
class _Call:
    remaining: float  # core-seconds
    threads: int
    done: threading.Event = field(default_factory=threading.Event)
    ok: bool = True


@dataclass
class CallRecord:
    """One `/api/embed` call as the node saw it (times are monotonic)."""

    started_at: float
    ended_at: float
    inputs: int
    threads: int
    kind: str
    num_thread_sent: bool
    ideal_s: float
    abandoned: bool = False

    @property
    def seconds(self) -> float:
        """How long the call took."""
        return self.ended_at - self.started_at

    @property
    def healthy(self) -> bool:
        """Not slowed by an overloaded node: it took about its time on an idle node."""
        return self.seconds <= self.ideal_s * _HEALTHY_STRETCH + 0.01


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

    def __init__(
        self, *, cores: int, background_cores: float, per_input_s: float, default_threads: int
    ) -> None:
        self.cores = cores
        self.background_cores = background_cores
        self.per_input_s = per_input_s
        self.default_threads = default_threads
        self._cond = threading.Condition()
        self._calls: list[_Call] = []
        self._threads = 0
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

    def threads_for(self, num_thread: int | None) -> int:
        """Threads a call runs: what it asked for, else the node's default."""
        return num_thread if num_thread is not None and num_thread > 0 else self.default_threads

    def ideal_s(self, n_inputs: int, threads: int) -> float:
        """How long `n_inputs` inputs take on `threads` threads of an otherwise idle node."""
        return self.per_input_s * self.cores * n_inputs / min(threads, self.cores)

    def embed(self, n_inputs: int, *, threads: int) -> bool:
        """Block for as long as `n_inputs` inputs take now; False if the node shut down."""
        call = _Call(self.per_input_s * self.cores * n_inputs, threads)
        with self._cond:
            if self._closed:
                return False
            now = self._advance()
            self._calls.append(call)
            self._threads += threads
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
            self._threads = 0
            self._cond.notify_all()
        self._thread.join(timeout=5)

    def _demand(self) -> float:
        return self._threads + self.background_cores + self._extra_cores

    def _pressure(self) -> float:
        return self._demand() / self.cores

    def _share(self) -> float:
        # Core-seconds per second each runnable thread gets.
        return min(1.0, self.cores / max(self._demand(), 1e-9))

    def _advance(self) -> float:
        # Every running call progressed at its threads' share since the last change.
        now = time.monotonic()
        elapsed = now - self._last
        if elapsed > 0:
            share = self._share()
            for call in self._calls:
                call.remaining -= elapsed * call.threads * share
            pressure = self._pressure()
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
                finished = [c for c in self._calls if c.remaining <= _DONE_EPSILON]
                if finished:
                    self._calls = [c for c in self._calls if c.remaining > _DONE_EPSILON]
                    for call in finished:
                        self._threads -= call.threads
                        call.done.set()
                    self._changed(now)
                self._cond.wait(timeout=self._next_completion_s())

    def _next_completion_s(self) -> float | None:
        if not self._calls:
            return None
        share = self._share()
        return max(0.0, min(c.remaining / (c.threads * share) for c in self._calls))
