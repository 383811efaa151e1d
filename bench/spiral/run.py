"""One run of the scenario against one receiver: storm, drain, measurements."""

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from bench.spiral.alertmanager import Alertmanager, Deliveries
from bench.spiral.chatjob import ChatJob, JobStats
from bench.spiral.node import CallRecord, Mark
from bench.spiral.nodeserver import SimulatedNode, start_node
from bench.spiral.params import Params
from bench.spiral.prometheus import Prometheus, Sample
from bench.spiral.receiver import Receiver, Stored

# Pressure must stay at or below 1.0 this long to count as back to normal, so the gap
# between two calls of one naive request does not look like a drained node.
SETTLE_S = 1.0
_POLL_S = 0.5
SERIES_EVERY_S = 0.25
_PROGRESS_EVERY_S = 10.0


@dataclass(frozen=True)
class Point:
    """What was stored and accepted at `t` seconds since the storm's start."""

    t: float
    alerts_stored: int
    chats_stored: int
    alerts_accepted: int
    chats_accepted: int


@dataclass(frozen=True)
class Stop:
    """When a run ends early: at `at_s` since the storm's start, or once pressure exceeds 1.0."""

    at_s: float
    over_pressure: bool = False


@dataclass
class Result:
    """Everything measured in one run."""

    receiver: str
    window_s: float
    avg_pressure: float
    over_s: float
    peak_pressure: float
    peak_scrape_pressure: float
    peak_calls: int
    calls: int
    inputs: int
    deliveries: Deliveries
    job: JobStats
    stored: Stored
    all_stored: bool
    pod_alerts: int
    pressure_alerts: int
    steady_alerts: int
    first_pressure_alert_s: float | None
    back_to_calm_s: float | None
    job_s: float
    drain_s: float | None
    # Set when the run was stopped before draining: "window" or "pressure > 1.0".
    stopped: str | None = None
    samples: list[Sample] = field(default_factory=list)
    series: list[Point] = field(default_factory=list)
    # Every finished /api/embed call, times in seconds since the storm's start.
    call_log: list[CallRecord] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)
    decisions: dict[str, float] = field(default_factory=dict)

    def chats_stored_by(self, t: float) -> int:
        """Chat messages stored `t` seconds after the storm's start (last sample before it)."""
        return max((p.chats_stored for p in self.series if p.t <= t), default=0)


def run_receiver(receiver: Receiver, params: Params, *, stop: Stop | None = None) -> Result:
    """Replay the incident against `receiver`; stops everything it started, whatever happens."""
    node = start_node(
        cores=params.cores, background_cores=params.background_cores,
        per_input_s=params.per_input_s, default_threads=params.node_threads, dim=params.embed_dim,
    )  # fmt: skip
    job: ChatJob | None = None
    prometheus: Prometheus | None = None
    alertmanager: Alertmanager | None = None
    try:
        log(f"[{params.profile}: {receiver.name}] starting")
        receiver.start(node.url)
        alertmanager = Alertmanager(receiver.alerts_url, params)
        prometheus = Prometheus(node.model, alertmanager, params)
        job = ChatJob(receiver.chats_url, params)
        run = _Run(receiver, node, prometheus, alertmanager, job, params)
        return run.storm_and_drain(stop)
    finally:
        with _shielded():
            if job is not None:
                job.stop()
            if prometheus is not None:
                prometheus.stop()
            node.model.close()  # calls in flight fail at once, so nothing below waits on them
            if alertmanager is not None:
                alertmanager.stop()
            receiver.stop()
            node.stop()


@contextlib.contextmanager
def _shielded() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM while stopping what was started, so nothing is orphaned."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Run:
    """The parts of one run, and the sampler recording what was stored over time."""

    def __init__(
        self, receiver: Receiver, node: SimulatedNode, prometheus: Prometheus,
        alertmanager: Alertmanager, job: ChatJob, params: Params,
    ) -> None:  # fmt: skip
        self.receiver, self.node, self.model = receiver, node, node.model
        self.prometheus, self.alertmanager, self.job, self.p = prometheus, alertmanager, job, params
        self.name = f"{params.profile}: {receiver.name}"
        self.series: list[Point] = []
        self._t0 = 0.0
        self._sampling = threading.Event()
        self._sampler = threading.Thread(target=self._sample_loop, name="series", daemon=True)

    def storm_and_drain(self, stop: Stop | None) -> Result:
        start = self.model.mark()
        self._t0 = start.at
        self.prometheus.start(start.at)
        self.job.start(start.at)
        self._sampler.start()
        log(f"[{self.name}] storm: chat job runs {self.p.storm_s:.0f}s")
        stopped, drain_s = None, None
        if stop is None:
            job_end = self.job.wait()
            log(f"[{self.name}] chat job ended after {job_end - start.at:.1f}s; draining")
            drain_s = self._wait_drained(job_end)
            if drain_s is not None:
                time.sleep(self.p.scrape_s + 0.1)  # so Prometheus has scraped the calm node, too
        else:
            stopped = self._wait_stop(stop)
            self.job.stop()
            job_end = self.job.wait()
            log(f"[{self.name}] stopped at {time.monotonic() - start.at:.1f}s ({stopped})")
        self._sampling.set()
        self._sampler.join(timeout=5)
        self._sample()
        return self._result(start, job_end, drain_s, stopped)

    def _result(
        self, start: Mark, job_end: float, drain_s: float | None, stopped: str | None
    ) -> Result:
        end, t0 = self.model.mark(), start.at
        stored = self.receiver.stored()
        stats, deliveries, job = self.model.stats(), self.alertmanager.deliveries, self.job
        calls = [_relative(r, t0) for r in self.node.records()]
        return Result(
            receiver=self.receiver.name, window_s=end.at - t0,
            avg_pressure=(end.integral - start.integral) / (end.at - t0),
            over_s=end.over_s - start.over_s, peak_pressure=stats.peak_pressure,
            peak_scrape_pressure=max((s.pressure for s in self.prometheus.samples), default=0.0),
            peak_calls=stats.peak_calls, calls=stats.calls, inputs=stats.inputs,
            deliveries=deliveries, job=job.stats, stored=stored,
            all_stored=stored.holds(deliveries.accepted, job.stats.accepted),
            pod_alerts=self.prometheus.pod_alerts,
            pressure_alerts=self.prometheus.pressure_alerts,
            steady_alerts=self.prometheus.steady_alerts,
            first_pressure_alert_s=self.prometheus.first_pressure_alert_s,
            back_to_calm_s=self.prometheus.back_to_calm_s(), job_s=job_end - t0,
            drain_s=drain_s, stopped=stopped, samples=list(self.prometheus.samples),
            series=list(self.series), call_log=calls, details=self.receiver.details(),
            decisions=self.receiver.decisions(),
        )  # fmt: skip

    def _wait_stop(self, stop: Stop) -> str:
        deadline = self._t0 + stop.at_s
        while time.monotonic() < deadline:
            if stop.over_pressure and self.model.stats().peak_pressure > 1.0:
                return "pressure > 1.0"
            time.sleep(0.05)
        return "window"

    def _wait_drained(self, job_end: float) -> float | None:
        """Seconds from the job's end until all accepted is stored and pressure <= 1.0."""
        deadline = job_end + self.p.drain_timeout_s
        stored_since: float | None = None
        next_progress = time.monotonic()
        while (now := time.monotonic()) < deadline:
            stored = self.receiver.stored()
            if stored.holds(self.alertmanager.deliveries.accepted, self.job.stats.accepted):
                stored_since = stored_since or now
            else:
                stored_since = None
            calm = self.model.calm_since()
            if stored_since is not None and calm is not None and now - calm >= SETTLE_S:
                return max(0.0, max(stored_since, calm) - job_end)
            if now >= next_progress:
                self._progress(stored, now - job_end)
                next_progress = now + _PROGRESS_EVERY_S
            time.sleep(_POLL_S)
        return None

    def _progress(self, stored: Stored, t: float) -> None:
        stats = self.model.stats()
        log(
            f"[{self.name}] +{t:5.1f}s drain: pressure {stats.pressure:5.2f}, "
            f"calls {stats.in_flight:3d}; alerts stored {stored.alerts}/"
            f"{len(self.alertmanager.deliveries.accepted)} accepted, "
            f"chats stored {stored.chats}/{len(self.job.stats.accepted)} accepted"
        )

    def _sample_loop(self) -> None:
        while not self._sampling.wait(SERIES_EVERY_S):
            self._sample()

    def _sample(self) -> None:
        t = time.monotonic() - self._t0
        stored = self.receiver.stored()
        self.series.append(Point(
            t=t, alerts_stored=stored.alerts, chats_stored=stored.chats,
            alerts_accepted=len(self.alertmanager.deliveries.accepted),
            chats_accepted=len(self.job.stats.accepted),
        ))  # fmt: skip


def _relative(record: CallRecord, t0: float) -> CallRecord:
    return replace(record, started_at=record.started_at - t0, ended_at=record.ended_at - t0)


def log(message: str) -> None:
    """Progress to stderr, so stdout holds only the report."""
    print(message, file=sys.stderr, flush=True)
