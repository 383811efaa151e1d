"""CPU seconds and resident memory of the servers, and of the whole machine, around one run."""

import resource
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

# No stubs in the dev dependencies (types-psutil would add them).
import psutil  # type: ignore[import-untyped]

T = TypeVar("T")
SAMPLE_EVERY_S = 0.1
MIB = 1024 * 1024


@dataclass(frozen=True)
class Usage:
    """One process over one run: CPU seconds (user + system), peak and final RSS in MiB."""

    cpu_s: float
    peak_rss_mib: float
    end_rss_mib: float


@dataclass(frozen=True)
class Window:
    """One run as measured: each watched process's usage, and the machine's CPU around them."""

    usages: list[Usage]
    wall_s: float
    # CPU seconds of every process on the machine, and of this process and its reaped children
    # (wrk: `subprocess.run` waits for it inside the window).
    machine_cpu_s: float
    bench_cpu_s: float

    @property
    def elsewhere_cpu_s(self) -> float:
        """CPU seconds of anything but the watched processes, wrk and the bench itself."""
        watched = sum(u.cpu_s for u in self.usages) + self.bench_cpu_s
        return max(0.0, self.machine_cpu_s - watched)


def rss_mib(pid: int) -> float:
    """The process's resident set size now, in MiB."""
    return _rss(psutil.Process(pid))


def _rss(process: Any) -> float:
    return float(process.memory_info().rss) / MIB


def _cpu(process: Any) -> float:
    # User + system of the process itself (a server has no children).
    times = process.cpu_times()
    return float(times.user + times.system)


def _machine_cpu_s() -> float:
    # Linux counts guest time inside user, and steal is another machine's: both left out.
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0))


def _bench_cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(pids: Sequence[int], action: Callable[[], T]) -> tuple[T, Window]:
    """Run `action`, sampling every process's RSS every 100 ms; its result and the window."""
    processes = [psutil.Process(pid) for pid in pids]
    peaks = [_rss(p) for p in processes]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(SAMPLE_EVERY_S):
            for i, process in enumerate(processes):
                peaks[i] = max(peaks[i], _rss(process))

    started = [_cpu(p) for p in processes]
    machine_0, bench_0, wall_0 = _machine_cpu_s(), _bench_cpu_s(), time.monotonic()
    sampler = threading.Thread(target=sample, name="rss-sampler", daemon=True)
    sampler.start()
    try:
        result = action()
    finally:
        stop.set()
        sampler.join()
    usages = []
    for i, process in enumerate(processes):
        end = _rss(process)
        usages.append(Usage(_cpu(process) - started[i], max(peaks[i], end), end))
    window = Window(
        usages, time.monotonic() - wall_0, machine_cpu_s=_machine_cpu_s() - machine_0,
        bench_cpu_s=_bench_cpu_s() - bench_0,
    )  # fmt: skip
    return result, window
