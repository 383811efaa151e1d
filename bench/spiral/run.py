"""One run of the scenario against one receiver: storm, drain, measurements."""

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from bench.spiral.alertmanager import Alertmanager, Deliveries
from bench.spiral.chatjob import ChatJob, JobStats
from bench.spiral.node import NodeModel, start_node
from bench.spiral.params import Params
from bench.spiral.prometheus import Prometheus, Sample
from bench.spiral.receiver import Receiver, Stored

# Pressure must stay at or below 1.0 this long to count as back to normal, so the gap
# between two calls of one naive request does not look like a drained node.
SETTLE_S = 1.0
_POLL_S = 0.5
_PROGRESS_EVERY_S = 10.0


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
    first_pressure_alert_s: float | None
    back_to_calm_s: float | None
    job_s: float
    drain_s: float | None
    samples: list[Sample] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)


def run_receiver(receiver: Receiver, params: Params) -> Result:
    """Replay the incident against `receiver`; stops everything it started, whatever happens."""
    node = start_node(
        cores=params.cores, background_cores=params.background_cores,
        per_input_s=params.per_input_s, dim=params.embed_dim,
    )  # fmt: skip
    job: ChatJob | None = None
    prometheus: Prometheus | None = None
    alertmanager: Alertmanager | None = None
    try:
        log(f"[{receiver.name}] starting")
        receiver.start(node.url)
        alertmanager = Alertmanager(receiver.alerts_url, params)
        prometheus = Prometheus(node.model, alertmanager, params)
        job = ChatJob(receiver.chats_url, params)
        return _storm_and_drain(receiver, node.model, prometheus, alertmanager, job, params)
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


def _storm_and_drain(
    receiver: Receiver, model: NodeModel, prometheus: Prometheus, alertmanager: Alertmanager,
    job: ChatJob, params: Params,
) -> Result:  # fmt: skip
    start = model.mark()
    prometheus.start(start.at)
    job.start(start.at)
    log(f"[{receiver.name}] storm: chat job runs {params.storm_s:.0f}s")
    job_end = job.wait()
    log(f"[{receiver.name}] chat job ended after {job_end - start.at:.1f}s; draining")
    drain_s = _wait_drained(receiver, model, alertmanager, job, job_end, params)
    if drain_s is not None:
        time.sleep(params.scrape_s + 0.1)  # so Prometheus has scraped the calm node, too
    end = model.mark()
    stored = receiver.stored()
    stats, deliveries = model.stats(), alertmanager.deliveries
    return Result(
        receiver=receiver.name,
        window_s=end.at - start.at,
        avg_pressure=(end.integral - start.integral) / (end.at - start.at),
        over_s=end.over_s - start.over_s,
        peak_pressure=stats.peak_pressure,
        peak_scrape_pressure=max((s.pressure for s in prometheus.samples), default=0.0),
        peak_calls=stats.peak_calls,
        calls=stats.calls,
        inputs=stats.inputs,
        deliveries=deliveries,
        job=job.stats,
        stored=stored,
        all_stored=stored.holds(deliveries.accepted, job.stats.accepted),
        pod_alerts=prometheus.pod_alerts,
        pressure_alerts=prometheus.pressure_alerts,
        first_pressure_alert_s=prometheus.first_pressure_alert_s,
        back_to_calm_s=prometheus.back_to_calm_s(),
        job_s=job_end - start.at,
        drain_s=drain_s,
        samples=list(prometheus.samples),
        details=receiver.details(),
    )


def _wait_drained(
    receiver: Receiver, model: NodeModel, alertmanager: Alertmanager, job: ChatJob,
    job_end: float, params: Params,
) -> float | None:  # fmt: skip
    """Seconds from the job's end until all accepted is stored and pressure <= 1.0; None if not."""
    deadline = job_end + params.drain_timeout_s
    stored_since: float | None = None
    next_progress = time.monotonic()
    while (now := time.monotonic()) < deadline:
        stored = receiver.stored()
        if stored.holds(alertmanager.deliveries.accepted, job.stats.accepted):
            stored_since = stored_since or now
        else:
            stored_since = None
        calm = model.calm_since()
        if stored_since is not None and calm is not None and now - calm >= SETTLE_S:
            return max(0.0, max(stored_since, calm) - job_end)
        if now >= next_progress:
            _progress(receiver.name, model, stored, alertmanager, job, now - job_end)
            next_progress = now + _PROGRESS_EVERY_S
        time.sleep(_POLL_S)
    return None


def _progress(
    name: str, model: NodeModel, stored: Stored, alertmanager: Alertmanager, job: ChatJob,
    t: float,
) -> None:  # fmt: skip
    stats = model.stats()
    log(
        f"[{name}] +{t:5.1f}s drain: pressure {stats.pressure:5.2f}, calls {stats.in_flight:3d}; "
        f"alerts stored {stored.alerts}/{len(alertmanager.deliveries.accepted)} accepted, "
        f"chats stored {stored.chats}/{len(job.stats.accepted)} accepted"
    )


def log(message: str) -> None:
    """Progress to stderr, so stdout holds only the report."""
    print(message, file=sys.stderr, flush=True)
