"""The side-by-side table, the run's parameters and a verdict line per receiver."""

import math
from collections.abc import Callable
from dataclasses import asdict

from bench.spiral.cortex import cortex_env, ignored_settings
from bench.spiral.params import Params
from bench.spiral.run import Result

Row = tuple[str, Callable[[Result], str]]


def percentile_ms(values: list[float], q: float) -> str:
    """The q-quantile (nearest rank) of seconds, in milliseconds; '-' when empty."""
    if not values:
        return "-"
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return f"{ordered[index] * 1000:.0f}"


def _drain(r: Result, params: Params) -> str:
    if r.drain_s is None:
        return f"did not drain in {params.drain_timeout_s:.0f}s"
    return f"{r.drain_s:.1f} s"


def _back_to_calm(r: Result, params: Params) -> str:
    if r.first_pressure_alert_s is None:
        return "no pressure alert"
    if r.back_to_calm_s is None:
        return "never (within the run)"
    return f"{r.back_to_calm_s:.1f} s ({r.back_to_calm_s / params.group_interval_s:.1f} group int.)"


def _longest_over(r: Result) -> float:
    longest, start = 0.0, None
    previous = 0.0
    for sample in r.samples:
        if sample.pressure > 1.0:
            start = previous if start is None else start
            longest = max(longest, sample.t - start)
        else:
            start = None
        previous = sample.t
    return longest


def _first_alert(r: Result) -> str:
    return "-" if r.first_pressure_alert_s is None else f"{r.first_pressure_alert_s:.1f} s"


def _failed(r: Result) -> str:
    failed = r.deliveries.failed
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(failed.items()))
    return f"{sum(failed.values())}" + (f" ({reasons})" if reasons else "")


def rows(params: Params) -> list[Row]:
    """The table's rows: a label and how to read it from a Result."""
    return [
        ("node pressure: peak (instant / 1 s avg)",
         lambda r: f"{r.peak_pressure:.2f} / {r.peak_scrape_pressure:.2f}"),
        ("node pressure: time-averaged", lambda r: f"{r.avg_pressure:.2f}"),
        ("time with pressure > 1.0", lambda r: f"{r.over_s:.0f} of {r.window_s:.0f} s"),
        ("longest stretch of 1 s averages > 1.0", lambda r: f"{_longest_over(r):.0f} s"),
        ("embedding calls at once: peak", lambda r: str(r.peak_calls)),
        ("embedding calls / inputs", lambda r: f"{r.calls} / {r.inputs}"),
        ("webhook latency p50 / p99 (ms)",
         lambda r: f"{percentile_ms(r.deliveries.latencies_s, 0.5)} / "
                   f"{percentile_ms(r.deliveries.latencies_s, 0.99)}"),
        ("webhook notifications / attempts",
         lambda r: f"{r.deliveries.notifications} / {r.deliveries.attempts}"),
        ("failed webhook deliveries", _failed),
        ("alert occurrences fired (pod / NodeHighLoad)",
         lambda r: f"{r.pod_alerts} / {r.pressure_alerts}"),
        ("alerts accepted / stored",
         lambda r: f"{len(r.deliveries.accepted)} / {r.stored.alerts}"),
        ("chat messages sent / accepted / stored",
         lambda r: f"{r.job.messages} / {len(r.job.accepted)} / {r.stored.chats}"),
        ("chat posts by outcome",
         lambda r: ", ".join(f"{k} {v}" for k, v in sorted(r.job.outcomes.items()))),
        ("chat job ran", lambda r: f"{r.job_s:.1f} s"),
        ("time to drain after the storm", lambda r: _drain(r, params)),
        ("first pressure alert at (since storm start)", _first_alert),
        ("first pressure alert -> pressure <= 1.0", lambda r: _back_to_calm(r, params)),
    ]  # fmt: skip


def table(results: list[Result], params: Params) -> str:
    """Rows of labels and one column per receiver, then receiver-specific rows."""
    lines = [_line("", [r.receiver for r in results])]
    lines.append("-" * len(lines[0]))
    for label, read in rows(params):
        lines.append(_line(label, [read(r) for r in results]))
    extra = [k for r in results for k in r.details if k]
    for label in dict.fromkeys(extra):
        lines.append(_line(label, [r.details.get(label, "-") for r in results]))
    return "\n".join(lines)


def _line(label: str, cells: list[str]) -> str:
    return f"{label:<46}" + "".join(f"{cell:<34}" for cell in cells).rstrip()


def timelines(results: list[tuple[str, Result]], *, width: int = 72) -> str:
    """Per labelled run, the 1 s pressure samples squeezed into one line (max per character)."""
    n = max((len(r.samples) for _, r in results), default=0)
    step = max(1, math.ceil(n / width))
    label_width = max([16, *(len(label) + 2 for label, _ in results)])
    lines = [
        f"pressure over time, 1 char = {step} s from the storm's start "
        "('.' <= 1.0, digit = whole part above 1.0, '#' >= 10):"
    ]
    for label, r in results:
        chunks = [r.samples[i : i + step] for i in range(0, len(r.samples), step)]
        line = "".join(_level(max(s.pressure for s in chunk)) for chunk in chunks)
        lines.append(f"  {label:<{label_width}}{line}")
    return "\n".join(lines)


def _level(pressure: float) -> str:
    if pressure <= 1.0:
        return "."
    return "#" if pressure >= 10 else str(int(pressure))


NOTES = """\
notes: webhook latency counts a timed-out attempt at its timeout (the flush deadline).
  accepted = alert occurrences (fingerprint + startsAt) in a notification answered 2xx before
  its deadline, chat messages in a post answered 2xx within the job's timeout. A pod that
  recovers and fails again is a new alert occurrence. Drain = from the chat job's end until
  everything accepted is stored and pressure has stayed <= 1.0 for 1 s."""


def verdicts(results: list[Result], params: Params) -> str:
    """One line per receiver: back to calm within K group intervals, everything accepted stored."""
    k = params.verdict_group_intervals
    lines = []
    for r in results:
        calm = r.back_to_calm_s is not None and r.back_to_calm_s <= k * params.group_interval_s
        calm_text = "no pressure alert" if r.first_pressure_alert_s is None else _yes(calm)
        lines.append(
            f"{r.receiver}: pressure back <= 1.0 within {k} group intervals: {calm_text}; "
            f"all accepted stored: {_yes(r.all_stored)}"
        )
    return "\n".join(lines)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def parameters(params: Params, base: Params | None = None) -> str:
    """The run's parameters and cluster-cortex settings; with `base`, only what differs."""
    hidden = ("receivers", "keep_logs", "profile")
    before = asdict(base) if base else {}
    values = ", ".join(f"{k}={v}" for k, v in asdict(params).items()
                       if k not in hidden and (k not in before or before[k] != v))  # fmt: skip
    full_per_s = params.node_capacity_inputs_per_s
    safe_per_s = params.free_cores / (params.per_input_s * params.cores)
    offered = params.chat_offered_per_s
    derived = (
        f"node capacity {full_per_s:.3g} inputs/s at full speed, {safe_per_s:.3g} on the "
        f"{params.free_cores:g} free cores; chat job offers {offered:.0f} messages/s "
        f"({offered / full_per_s:.1f}x full speed, {offered / safe_per_s:.1f}x the free cores); "
        f"background pressure {params.background_cores / params.cores:.2f}; "
        f"a call without num_thread runs {params.node_threads} threads"
    )
    env_before = cortex_env(base) if base else {}
    env = " ".join(f"{k}={v}" for k, v in cortex_env(params).items() if env_before.get(k) != v)
    ignored = ignored_settings(params)
    lines = [
        f"[{params.profile}] parameters{' (differing)' if base else ''}: {values or '-'}",
        derived,
        f"cluster-cortex settings{' (differing)' if base else ''}: {env or '-'}",
    ]
    if ignored:
        lines.append(f"not in this tree, so not set: {' '.join(ignored)}")
    return "\n".join(lines)
