"""What one phase measured for one server, put together from its slices."""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.gateway.meter import Usage
from bench.gateway.wrk import Load, WrkResult, merged


@dataclass(frozen=True)
class Slice:
    """One wrk run against one server, with what it cost."""

    load: Load
    wrk: WrkResult
    usage: Usage
    redis_cpu_s: float
    redis_added_mib: float
    elsewhere_cpu_s: float
    wall_s: float
    # Gateway: its accepted-alerts counter. Baseline: alerts in the bodies it pushed.
    alerts: int


@dataclass(frozen=True)
class Run:
    """One phase of one scenario against one server: its slices added up."""

    scenario: str
    phase: str
    server: str
    slices: int
    # Requests per second asked of wrk; 0 for a saturated run.
    rate: float
    wrk: WrkResult
    usage: Usage
    redis_cpu_s: float
    redis_added_mib: float
    alerts: int
    # Cores used by other processes on the machine, on average over the slices.
    elsewhere_cores: float
    # The median of the slices' 2xx rates: what a paced phase is set from, so that one slice
    # on a briefly quiet (or busy) machine does not decide the pace.
    median_rate_2xx: float

    @property
    def cpu_s_per_1k(self) -> float | None:
        """Server CPU seconds per 1,000 counted alerts (= milliseconds per alert)."""
        return self.usage.cpu_s * 1000 / self.alerts if self.alerts else None

    @property
    def redis_cpu_s_per_1k(self) -> float | None:
        """redis-server CPU seconds per 1,000 counted alerts."""
        return self.redis_cpu_s * 1000 / self.alerts if self.alerts else None


def combined(scenario: str, phase: str, server: str, slices: Sequence[Slice]) -> Run:
    """The phase's slices as one run: counts and CPU added, the highest peak RSS, the last RSS."""
    usage = Usage(
        cpu_s=sum(s.usage.cpu_s for s in slices),
        peak_rss_mib=max(s.usage.peak_rss_mib for s in slices),
        end_rss_mib=slices[-1].usage.end_rss_mib,
    )
    return Run(
        scenario=scenario, phase=phase, server=server, slices=len(slices),
        rate=slices[0].load.rate, wrk=merged([s.wrk for s in slices]), usage=usage,
        redis_cpu_s=sum(s.redis_cpu_s for s in slices),
        redis_added_mib=sum(s.redis_added_mib for s in slices),
        alerts=sum(s.alerts for s in slices),
        elsewhere_cores=sum(s.elsewhere_cpu_s for s in slices) / sum(s.wall_s for s in slices),
        median_rate_2xx=statistics.median(s.wrk.rate_2xx for s in slices),
    )  # fmt: skip


@dataclass
class Memory:
    """One server process's RSS over one scenario, in MiB."""

    scenario: str
    server: str
    start_mib: float
    after_warmup_mib: float = 0.0
    after_phases_mib: list[float] = field(default_factory=list)
    peak_mib: float = 0.0


@dataclass
class Results:
    """Every phase's runs and every server's memory trace, in the order they ran."""

    runs: list[Run] = field(default_factory=list)
    memory: list[Memory] = field(default_factory=list)
    # Per (scenario, phase) with storm detection on: alerts in digest buffers, and buffers.
    digests: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    def find(self, scenario: str, server: str, phase: str = "") -> Run | None:
        """The run of `server` in `scenario` (the first, or the named phase)."""
        for run in self.runs:
            if (run.scenario, run.server) == (scenario, server) and phase in ("", run.phase):
                return run
        return None
