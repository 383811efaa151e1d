"""The table of runs, the memory traces, the verdicts against the targets, and the parameters."""

import os
from collections.abc import Callable
from dataclasses import asdict

from bench.gateway.params import NO_STORM_THRESHOLD, Params
from bench.gateway.results import Memory, Results, Run
from bench.gateway.run import SETTLE_S
from bench.gateway.servers import gateway_env

# The targets: printed as verdicts, never asserted.
RATE_RATIO_TARGET = 0.8
P99_TARGET_MS = 20.0
CPU_MS_PER_ALERT_TARGET = 1.0
# Flat: RSS grows by less than this fraction from the end of the first storm run to the end.
RSS_GROWTH_TARGET = 0.05
# Above this many cores busy with other processes, a rate or latency verdict is flagged.
DISTURBED_CORES = 0.2

Column = tuple[str, int, Callable[[Run], str]]


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


COLUMNS: list[Column] = [
    ("req/s", 6, lambda r: f"{r.wrk.rate_2xx:.0f}"),
    ("p50 ms", 6, lambda r: _num(r.wrk.percentile_ms(0.5))),
    ("p99 ms", 6, lambda r: _num(r.wrk.percentile_ms(0.99))),
    ("failed", 6, lambda r: str(r.wrk.failed)),
    ("alerts sent", 11, lambda r: str(r.wrk.alerts_sent)),
    ("counted", 8, lambda r: str(r.alerts)),
    ("dups", 6, lambda r: str(r.wrk.duplicates) if r.server == "gateway" else "-"),
    ("CPU s/1k", 8, lambda r: _num(r.cpu_s_per_1k, 3)),
    ("peak RSS", 8, lambda r: _num(r.usage.peak_rss_mib)),
    ("redis CPU s/1k", 14, lambda r: _num(r.redis_cpu_s_per_1k, 3)),
    ("redis MiB", 9, lambda r: _num(r.redis_added_mib)),
    ("busy elsewhere", 14, lambda r: f"{r.elsewhere_cores:.2f}"),
]  # fmt: skip
# Columns compared as gateway / baseline on the ratio line.
RATIOS: dict[str, Callable[[Run], float | None]] = {
    "req/s": lambda r: r.wrk.rate_2xx,
    "p50 ms": lambda r: r.wrk.percentile_ms(0.5),
    "p99 ms": lambda r: r.wrk.percentile_ms(0.99),
    "CPU s/1k": lambda r: r.cpu_s_per_1k,
    "peak RSS": lambda r: r.usage.peak_rss_mib,
    "redis CPU s/1k": lambda r: r.redis_cpu_s_per_1k,
}
_LABEL_W, _SERVER_W = 26, 10


def table(results: Results) -> str:
    """A line per run and server, then gateway / baseline for the comparable columns."""
    header = _row("run", "server", [name for name, _, _ in COLUMNS])
    lines = [header, "-" * len(header)]
    phases = dict.fromkeys((r.scenario, r.phase) for r in results.runs)
    for scenario, phase in phases:
        base = results.find(scenario, "baseline", phase)
        gate = results.find(scenario, "gateway", phase)
        label = f"{scenario}: {phase}"
        for run in (base, gate):
            if run is not None:
                lines.append(_row(label, run.server, [read(run) for _, _, read in COLUMNS]))
                label = ""
        if base is not None and gate is not None:
            lines.append(_row("", "ratio", [_ratio(name, base, gate) for name, _, _ in COLUMNS]))
    return "\n".join(lines)


def _row(label: str, server: str, cells: list[str]) -> str:
    widths = [w for _, w, _ in COLUMNS]
    body = "".join(f" {cell:>{w}}" for cell, w in zip(cells, widths, strict=True))
    return f"{label:<{_LABEL_W}}{server:<{_SERVER_W}}{body}".rstrip()


def _ratio(column: str, base: Run, gate: Run) -> str:
    read = RATIOS.get(column)
    if read is None:
        return ""
    b, g = read(base), read(gate)
    return "-" if not b or g is None else f"{g / b:.2f}x"


def memory(results: Results) -> str:
    """Per server process: RSS at start, after the warm-up, after each run; peak and growth."""
    lines = [
        "server RSS (MiB): start -> after warm-up -> after each run; peak; growth after warm-up"
    ]
    for m in results.memory:
        runs = " -> ".join(f"{v:.1f}" for v in m.after_phases_mib)
        lines.append(
            f"  {m.scenario + ' ' + m.server:<22}{m.start_mib:.1f} -> {m.after_warmup_mib:.1f} "
            f"-> {runs}; peak {m.peak_mib:.1f}; {_growth(m)}"
        )
    return "\n".join(lines)


def digests(results: Results) -> str:
    """Per storm phase, how many of the gateway's accepted alerts joined a digest buffer."""
    lines = []
    for (scenario, phase), (members, buffers) in results.digests.items():
        run = results.find(scenario, "gateway", phase)
        accepted = run.alerts if run is not None else 0
        lines.append(
            f"  {scenario}: {phase}: {members} of {accepted} accepted alerts joined "
            f"{buffers} digest buffer(s) instead of a queue"
        )
    return "\n".join(["gateway storm digests:", *lines]) if lines else ""


def _growth(m: Memory) -> str:
    end = m.after_phases_mib[-1] if m.after_phases_mib else m.after_warmup_mib
    return f"{end - m.after_warmup_mib:+.1f}"


NOTES = """\
notes:
- wrk runs on the same machine as the servers and Redis and competes with them for CPU. Each
  server is one uvicorn process (the gateway's settings: default loop and HTTP parser, no
  access log). Per scenario both are started fresh, side by side, and warmed up; in each phase
  they take turns in slices (baseline, gateway, gateway, baseline, ...) so that other load on
  the machine falls on both alike. Redis is emptied after every phase; nothing consumes it.
- req/s = requests answered 2xx per second; latencies are wrk's, from sending a request to its
  answer; failed = other answers plus socket errors and timeouts.
- alerts sent = alerts in every request wrk's script built (repeats included). counted = alerts
  the server took in, answered before wrk stopped or not: for the gateway, what its counter
  cortex_gateway_items_total{{kind="alert",outcome="accepted"}} grew by (new alert
  occurrences, queued or joining a storm digest; duplicates and updates left out); for the
  baseline, alerts in the bodies it pushed, counted in Redis (it pushes repeats too). dups =
  alerts the gateway's answers called duplicates.
- CPU s/1k = the server's user + system CPU seconds during the run (and {settle:g} s after it)
  per 1,000 counted alerts, which is also milliseconds per alert; redis CPU likewise for
  redis-server. peak RSS = the server's highest RSS, sampled every 100 ms (MiB). redis MiB =
  what INFO used_memory grew by during the server's slices (its queues, dedup keys, storm sets).
- busy elsewhere = cores used during the run by every other process on the machine: above
  {disturbed:g} the run was disturbed (rate and latency verdicts say so); run again when quiet.
- A paced run sends at {pace} of the same server's saturated rate (the median of its saturated
  slices) through wrk's delay() hook: a send slot per request per wrk thread. Its latencies
  leave out time spent waiting for a late slot. Near saturation p99 climbs steeply with the
  rate, and the saturated rate varies by 10-20 % from run to run on a shared machine, so the
  p99 verdict can flip between runs: compare "asked" and "answered" in it.
"""


def notes(params: Params) -> str:
    """The notes, with the paced fraction filled in."""
    pace = f"{params.pace_fraction:.0%}"
    return NOTES.format(pace=pace, settle=SETTLE_S, disturbed=DISTURBED_CORES).rstrip()


def verdicts(results: Results, params: Params) -> str:
    """One pass/fail line per target, after a warning if any request failed."""
    lines = [
        _failures(results),
        _rate_verdict(results),
        _p99_verdict(results, params),
        *(_cpu_verdict(results, s) for s in ("unique", "duplicates", "storm")),
        _rss_verdict(results, params),
    ]
    return "\n".join(line for line in lines if line)


def _failures(results: Results) -> str:
    failed = sum(r.wrk.failed for r in results.runs)
    if not failed:
        return ""
    return f"WARNING: {failed} requests failed (column 'failed'; --keep-logs keeps server logs)"


def _pass(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _rate_verdict(results: Results) -> str:
    base = results.find("unique", "baseline", "saturated")
    gate = results.find("unique", "gateway", "saturated")
    if base is None or gate is None:
        return ""
    ratio = gate.wrk.rate_2xx / base.wrk.rate_2xx if base.wrk.rate_2xx else 0.0
    return (
        f"{_pass(ratio >= RATE_RATIO_TARGET)}  gateway req/s >= {RATE_RATIO_TARGET}x the bare "
        f"push's (unique alerts, saturated): {gate.wrk.rate_2xx:.0f} / {base.wrk.rate_2xx:.0f} "
        f"= {ratio:.2f}x{_disturbed(base, gate)}"
    )


def _p99_verdict(results: Results, params: Params) -> str:
    gate = results.find("unique", "gateway", f"paced at {params.pace_fraction:.0%}")
    p99 = None if gate is None else gate.wrk.percentile_ms(0.99)
    if gate is None or p99 is None:
        return ""
    return (
        f"{_pass(p99 < P99_TARGET_MS)}  gateway p99 < {P99_TARGET_MS:g} ms at "
        f"{params.pace_fraction:.0%} of its saturation (unique alerts, {gate.rate:.0f} req/s "
        f"asked, {gate.wrk.rate_2xx:.0f} answered): p99 {p99:.1f} ms{_disturbed(gate)}"
    )


def _disturbed(*runs: Run) -> str:
    busy = max(r.elsewhere_cores for r in runs)
    if busy <= DISTURBED_CORES:
        return ""
    return f" [disturbed: {busy:.2f} cores busy elsewhere; run again on a quiet machine]"


def _cpu_verdict(results: Results, scenario: str) -> str:
    runs = [r for r in results.runs if (r.scenario, r.server) == (scenario, "gateway")]
    if not runs:
        return ""
    cpu_s, alerts = sum(r.usage.cpu_s for r in runs), sum(r.alerts for r in runs)
    ms = cpu_s * 1000 / alerts if alerts else float("inf")
    repeats = "; half the alerts are repeats, whose CPU counts" if scenario == "duplicates" else ""
    return (
        f"{_pass(ms < CPU_MS_PER_ALERT_TARGET)}  gateway CPU < {CPU_MS_PER_ALERT_TARGET:g} ms "
        f"per accepted alert ({scenario}, all runs): {ms:.3f} ms ({cpu_s:.1f} s for {alerts}"
        f"{repeats})"
    )


def _rss_verdict(results: Results, params: Params) -> str:
    m = next((m for m in results.memory if (m.scenario, m.server) == ("storm", "gateway")), None)
    if m is None or not m.after_phases_mib:
        return ""
    first, last = m.after_phases_mib[0], m.after_phases_mib[-1]
    growth = (last - first) / first
    trace = " -> ".join(f"{v:.1f}" for v in m.after_phases_mib)
    return (
        f"{_pass(growth < RSS_GROWTH_TARGET)}  gateway RSS flat under a sustained storm "
        f"({params.storm_runs} x {params.phase_s} s; < {RSS_GROWTH_TARGET:.0%} growth "
        f"after the first run): start {m.start_mib:.1f}, after warm-up {m.after_warmup_mib:.1f}, "
        f"after each run {trace}, peak {m.peak_mib:.1f} MiB; {last - first:+.1f} MiB "
        f"({growth:+.1%}) since the first run"
    )


def parameters(params: Params, wrk_version: str) -> str:
    """The run's parameters, the machine, and the gateway's settings."""
    values = ", ".join(f"{k}={v}" for k, v in asdict(params).items() if k != "keep_logs")
    env = gateway_env("<throwaway redis-server>", storm_threshold=NO_STORM_THRESHOLD)
    settings = " ".join(f"{k}={v}" for k, v in env.items())
    return (
        f"parameters: {values}\n"
        f"machine: {os.cpu_count()} CPUs; load generator: {wrk_version} -t{params.threads} "
        f"-c{params.connections}, same payload script for both servers\n"
        f"gateway settings: {settings} (CORTEX_STORM_THRESHOLD={params.storm_threshold} in the "
        f"storm scenario), CORTEX_WEBHOOK_TOKEN unset, everything else the README's defaults"
    )
