"""The scenarios: both servers up side by side, driven identically in alternating slices.

Each phase is cut into slices, and the servers take turns (baseline, gateway, then gateway,
baseline, ...), so a burst of unrelated work on a shared machine hits both alike instead of
deciding the ratio. The idle server waits on its socket and costs nothing meanwhile.
"""

import itertools
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench.gateway.backend import Backend
from bench.gateway.meter import measure, rss_mib
from bench.gateway.params import Params
from bench.gateway.results import Memory, Results, Run, Slice, combined
from bench.gateway.servers import Server, baseline_server, gateway_server
from bench.gateway.wrk import Load, WrkResult, run_wrk

# After wrk stops, a server may still be working on requests it had read: their CPU and
# their pushes belong to this slice, not to the next.
SETTLE_S = 0.3


@dataclass(frozen=True)
class Scenario:
    """What the payloads are (the wrk script's mode) and which phases are measured."""

    name: str
    mode: str
    # After the saturated phase, one at `pace_fraction` of each server's saturated rate.
    paced: bool = False
    # Saturated phases back to back on the same server processes.
    runs: int = 1
    # The gateway's CORTEX_STORM_THRESHOLD; None puts storm detection out of reach.
    storm_threshold: int | None = None


@dataclass(frozen=True)
class Phase:
    """One measured phase: its label, and its pace (0: saturated)."""

    name: str
    fraction: float = 0.0


def scenarios(params: Params) -> list[Scenario]:
    """Unique alerts, half duplicates, and a sustained storm of one alertname."""
    return [
        Scenario("unique", "unique", paced=True),
        Scenario("duplicates", "duplicates"),
        Scenario("storm", "storm", runs=params.storm_runs, storm_threshold=params.storm_threshold),
    ]


def phases(scenario: Scenario, params: Params) -> list[Phase]:
    """The scenario's saturated phase(s), then its paced one, if any."""
    if scenario.runs == 1:
        found = [Phase("saturated")]
    else:
        found = [Phase(f"run {i}/{scenario.runs}") for i in range(1, scenario.runs + 1)]
    if scenario.paced:
        fraction = params.pace_fraction
        found.append(Phase(f"paced at {fraction:.0%}", fraction=fraction))
    return found


class Bench:
    """Runs every scenario against both servers, sharing one throwaway Redis."""

    def __init__(self, params: Params, backend: Backend, logs: Path) -> None:
        self.params = params
        self.results = Results()
        self._backend = backend
        self._logs = logs
        # Part of every fingerprint: no two wrk runs send the same alert.
        self._salts = itertools.count(1)

    def run(self) -> Results:
        """Every scenario, each with a fresh baseline and a fresh gateway."""
        for scenario in scenarios(self.params):
            servers = [
                baseline_server(self._backend.url, self._logs),
                gateway_server(
                    self._backend.url, self._logs, storm_threshold=scenario.storm_threshold
                ),
            ]
            try:
                for server in servers:
                    log(f"[{scenario.name}] starting {server.name}")
                    server.start()
                self._scenario(scenario, servers)
            finally:
                for server in servers:
                    server.stop()
        return self.results

    def _scenario(self, scenario: Scenario, servers: list[Server]) -> None:
        memory = self._warm_up(scenario, servers)
        saturated: dict[str, float] = {}
        for phase in phases(scenario, self.params):
            for run in self._phase(scenario, phase, servers, saturated):
                if not phase.fraction:
                    saturated[run.server] = run.median_rate_2xx
                m = memory[run.server]
                m.after_phases_mib.append(run.usage.end_rss_mib)
                m.peak_mib = max(m.peak_mib, run.usage.peak_rss_mib)
            if scenario.storm_threshold is not None:
                self.results.digests[scenario.name, phase.name] = self._backend.digest_members()
            self._backend.flush()

    def _warm_up(self, scenario: Scenario, servers: list[Server]) -> dict[str, Memory]:
        """Drive each server briefly (imports, caches, connection pools); note its RSS."""
        log(f"[{scenario.name}] warm-up, {self.params.warmup_s}s each")
        memory = {}
        for server in servers:
            m = Memory(scenario.name, server.name, start_mib=rss_mib(server.pid))
            load = self._load(scenario, self.params.warmup_s, rate=0.0)
            _, window = measure([server.pid], partial(self._wrk, server, load))
            m.after_warmup_mib = window.usages[0].end_rss_mib
            m.peak_mib = window.usages[0].peak_rss_mib
            memory[server.name] = m
            self.results.memory.append(m)
        self._backend.flush()
        return memory

    def _phase(
        self, scenario: Scenario, phase: Phase, servers: list[Server], saturated: dict[str, float]
    ) -> list[Run]:
        n, slice_s = self.params.slices, self.params.slice_s
        log(f"[{scenario.name}] {phase.name}: {n} x {slice_s}s each, alternating")
        slices: dict[str, list[Slice]] = {server.name: [] for server in servers}
        for i in range(n):
            for server in servers if i % 2 == 0 else servers[::-1]:
                rate = phase.fraction * saturated.get(server.name, 0.0)
                load = self._load(scenario, slice_s, rate=rate)
                slices[server.name].append(self._slice(server, load))
        runs = [combined(scenario.name, phase.name, name, s) for name, s in slices.items()]
        self.results.runs += runs
        return runs

    def _load(self, scenario: Scenario, duration_s: int, *, rate: float) -> Load:
        p = self.params
        return Load(scenario.mode, duration_s, p.threads, p.connections, rate=rate)

    def _wrk(self, server: Server, load: Load) -> WrkResult:
        result = run_wrk(server.url, load, salt=next(self._salts))
        time.sleep(SETTLE_S)
        server.check()
        return result

    def _slice(self, server: Server, load: Load) -> Slice:
        backend = self._backend
        # Both counts include requests wrk had sent but not seen answered when it stopped.
        gateway = server.name == "gateway"
        used_mib, pushed = backend.used_memory_mib(), backend.baseline_pushed()
        accepted = server.accepted_alerts() if gateway else 0
        result, window = measure([server.pid, backend.pid()], partial(self._wrk, server, load))
        if gateway:
            alerts = server.accepted_alerts() - accepted
        else:
            alerts = backend.baseline_alerts(newest=backend.baseline_pushed() - pushed)
        return Slice(
            load=load, wrk=result, usage=window.usages[0], redis_cpu_s=window.usages[1].cpu_s,
            redis_added_mib=backend.used_memory_mib() - used_mib,
            elsewhere_cpu_s=window.elsewhere_cpu_s, wall_s=window.wall_s, alerts=alerts,
        )  # fmt: skip


def log(message: str) -> None:
    """Progress to stderr, so stdout holds only the report."""
    print(message, file=sys.stderr, flush=True)
