"""The node profiles side by side: key figures per run, the fixed-k sweep, the verdicts."""

from collections.abc import Callable

from bench.spiral import figures
from bench.spiral.fixed import SweepStep
from bench.spiral.params import Params
from bench.spiral.run import Result

Column = tuple[str, Result, Params]
Row = tuple[str, Callable[[Result, Params], str]]


def _quantile(values: list[float], q: float) -> str:
    value = figures.nearest_rank(values, q)
    return "-" if value is None else f"{value:.2f}"


def _timed_out(r: Result, p: Params) -> str:
    gone, healthy = figures.abandoned(r)
    return f"{gone} ({healthy} healthy)"


def _breaker(r: Result, p: Params) -> str:
    if not r.decisions:
        return "-"
    transitions, opens = figures.breaker(r)
    return f"{transitions} ({opens} opens)"


def _window(r: Result, p: Params) -> str:
    stored = r.chats_stored_by(p.compare_s)
    return f"{stored} in {p.compare_s:.0f} s ({stored / p.compare_s:.1f}/s)"


def _end(r: Result, p: Params) -> str:
    if r.stopped:
        return f"stopped at {r.window_s:.0f} s ({r.stopped})"
    if r.drain_s is None:
        return f"not drained in {p.drain_timeout_s:.0f} s"
    return f"drained {r.drain_s:.1f} s after"


def _chat_seconds(r: Result, p: Params) -> str:
    seconds = [c.seconds for c in figures.calls_of(r, "chat")]
    return f"{_quantile(seconds, 0.5)} / {_quantile(seconds, 1.0)}"


ROWS: list[Row] = [
    ("node: default threads / background / s per input",
     lambda r, p: f"{p.node_threads} / {p.background_cores:g} / {p.per_input_s:g}"),
    ("threads x calls (num_thread sent)", lambda r, p: figures.threads_used(r)),
    ("pressure peak: instant / 1 s avg",
     lambda r, p: f"{r.peak_pressure:.2f} / {r.peak_scrape_pressure:.2f}"),
    ("pressure time-averaged", lambda r, p: f"{r.avg_pressure:.2f}"),
    ("time with pressure > 1.0", lambda r, p: f"{r.over_s:.1f} of {r.window_s:.0f} s"),
    ("embedding calls at once: peak", lambda r, p: str(r.peak_calls)),
    ("embedding calls / inputs", lambda r, p: f"{r.calls} / {r.inputs}"),
    ("chat inputs per call p50/p90/max", lambda r, p: figures.batch_sizes(r, "chat")),
    ("alert inputs per call p50/p90/max", lambda r, p: figures.batch_sizes(r, "alert")),
    ("chat call seconds p50 / max", _chat_seconds),
    ("calls timed out by the client", _timed_out),
    ("breaker transitions", _breaker),
    ("alerts fired: pod / NodeHighLoad / steady",
     lambda r, p: f"{r.pod_alerts} / {r.pressure_alerts} / {r.steady_alerts}"),
    ("alerts accepted / stored", lambda r, p: f"{len(r.deliveries.accepted)} / {r.stored.alerts}"),
    ("chats sent / accepted / stored",
     lambda r, p: f"{r.job.messages} / {len(r.job.accepted)} / {r.stored.chats}"),
    ("chats stored in the comparison window", _window),
    ("longest stall, chats waiting", lambda r, p: f"{figures.longest_chat_stall_s(r):.1f} s"),
    ("run end (drain: after the chat job)", _end),
]  # fmt: skip


def table(columns: list[Column]) -> str:
    """Key figures, one column per run, each as wide as its longest cell."""
    cells = [[label for label, _, _ in columns]]
    cells += [[read(r, p) for _, r, p in columns] for _, read in ROWS]
    details = list(dict.fromkeys(k for _, r, _ in columns for k in r.details))
    cells += [[r.details.get(k, "-") for _, r, _ in columns] for k in details]
    labels = ["", *(label for label, _ in ROWS), *details]
    widths = [max(len(row[i]) for row in cells) + 2 for i in range(len(columns))]
    label_width = max(len(label) for label in labels) + 2
    lines = []
    for label, row in zip(labels, cells, strict=True):
        text = "".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=True))
        lines.append(f"{label:<{label_width}}{text}".rstrip())
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def sweep_table(steps: list[SweepStep], best: SweepStep | None, params: Params) -> str:
    """One line per k of the fixed-concurrency sweep."""
    lines = [
        f"fixed-concurrency baseline on the {params.profile} node (chats stored in the first "
        f"{params.compare_s:.0f} s; a run stops at the first pressure > 1.0):"
    ]
    for step in steps:
        r = step.result
        mark = "  <- best safe" if step is best else ""
        lines.append(
            f"  k={step.k}: peak pressure {r.peak_pressure:.2f}, "
            f"{'safe' if step.safe else 'UNSAFE'}, chats stored {_window(r, params)}, "
            f"{_end(r, params)}{mark}"
        )
    if best is None:
        lines.append("  no k kept pressure <= 1.0")
    return "\n".join(lines)
