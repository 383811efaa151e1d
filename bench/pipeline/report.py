"""The printed report: the direct sweep, one column per scenario, verdicts, parameters."""

import math
from collections.abc import Callable
from dataclasses import asdict

from bench.pipeline import cpu
from bench.pipeline.direct import Direct, fit
from bench.pipeline.meter import histogram, size_stats
from bench.pipeline.params import Params, call_targets
from bench.pipeline.policy import Baseline, baseline
from bench.pipeline.scenario import QUEUES, Outcome
from bench.pipeline.stack import cortex_env

Row = tuple[str, Callable[[Outcome], str]]
_LABEL_W, _CELL_W = 46, 26


def direct_table(results: list[Direct], params: Params) -> str:
    """The backend measured directly, one line per batch size."""
    head = (
        f"{'threads':>8}{'batch size':>11}{'calls':>8}{'inputs':>9}{'inputs/s':>11}"
        f"{'peak in flight':>16}"
    )
    lines = [
        "direct to the embedder: as many client threads as the cap (the slots alerts may use, "
        f"and chats borrowing the reserved ones), {params.direct_s:g} s per batch size",
        head,
        "-" * len(head),
    ]
    for r in results:
        mark = "  <- the best, every scenario's" if r.batch_size == params.embed_batch_size else ""
        lines.append(
            f"{r.concurrency:>8}{r.batch_size:>11}{r.calls:>8}{r.inputs:>9}"
            f"{r.inputs_per_s:>11.1f}{r.peak_in_flight:>16}{mark}"
        )
    m = fit(results)
    sizes = ", ".join(f"{name} {params.call_size(t)}" for name, t in call_targets().items())
    lines.append(
        f"closed form at batch {params.embed_batch_size}: "
        f"{params.ideal_at(params.slots_cap):.1f} inputs/s\n"
        f"cost per call as measured (least squares): {m.per_call_s * 1000:.1f} ms + "
        f"{m.per_input_s * 1000:.2f} ms per input (configured {params.delay_s * 1000:g} + "
        f"{params.per_input_delay_s * 1000:g})\n"
        f"inputs per call cluster-cortex's targets allow at this cost: {sizes}; calls carry "
        f"at most embed_batch_size={params.embed_batch_size}, so neither cuts them"
    )
    return "\n".join(lines)


def ratio(o: Outcome, base: Baseline) -> float:
    """End to end over the direct best under the same slot policy."""
    return o.items_per_s / base.inputs_per_s if base.inputs_per_s else 0.0


def _factors(o: Outcome, base: Baseline) -> tuple[float, float, float]:
    """ratio = batching x slot use x lead-in/tail, as shares of seconds.

    batching: the direct time of the inputs embedded over the time their calls would take
    back to back on the cap's slots; slot use: that over the embedding phase; lead-in/tail:
    the rest (the embedding phase over first post -> all stored).
    """
    direct_s = base.direct_s(o.calls.inputs)
    backend_s = base.backend_s(o.calls)
    span_s = o.calls.span_s
    batching = direct_s / backend_s if backend_s else 0.0
    slot_use = backend_s / span_s if span_s else 0.0
    embedding = batching * slot_use
    return batching, slot_use, ratio(o, base) / embedding if embedding else 0.0


def _idle_per_call_ms(o: Outcome) -> str:
    c = o.calls
    if not c.calls or not o.peak_in_flight:
        return "-"
    return f"{(o.peak_in_flight * c.span_s - c.busy_s) / c.calls * 1000:.0f}"


def _span(o: Outcome, start: float | None, end: float | None) -> str:
    if start is None or end is None or not o.calls.calls:
        return "-"
    return f"{end - start:.2f} s"


def _cpu(o: Outcome, names: tuple[str, ...]) -> str:
    return " / ".join(f"{o.cpu_s.get(name, 0.0):.1f}" for name in names)


def _cpu_busy(o: Outcome) -> str:
    if not o.stored_s:
        return "-"
    return f"{sum(o.cpu_s.values()) / (o.stored_s * cpu.cores()) * 100:.0f} %"


def _store_rate(o: Outcome) -> str:
    rate = o.sampled.store_rate()
    return "no backlog" if rate is None else f"{rate:.0f}"


def _answers(o: Outcome) -> str:
    text = ", ".join(f"{k} {v}" for k, v in sorted(o.posted.statuses.items()))
    wait_s = o.posted.longest_retry_after_s
    return f"{text} (waited up to {wait_s:g} s)" if wait_s else text


def percentile_ms(values: list[float], q: float) -> str:
    """The q-quantile (nearest rank) of seconds, in milliseconds; '-' when empty."""
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] * 1000:.0f}"


def rows(base: Baseline, params: Params) -> list[Row]:
    """The scenario table's rows: a label and how to read it from an Outcome."""

    own_chat_slots = max(0, params.slots_cap - params.slots_reserved)

    def stored_s(o: Outcome) -> float | None:
        return None if o.stored_s is None else o.t0 + o.stored_s

    return [
        ("items accepted (alerts / chats)",
         lambda o: f"{o.posted.accepted['alert']} / {o.posted.accepted['chat']}"),
        ("requests answered of sent / items per request",
         lambda o: f"{o.posted.posts} of {o.posts_sent} / "
                   f"{o.items / max(1, o.posted.posts):.1f}"),
        ("posting took (items/s offered)",
         lambda o: f"{o.posted_s:.1f} s ({o.items / max(o.posted_s, 1e-9):.0f}/s)"),
        ("first post -> all stored", lambda o: _span(o, o.t0, stored_s(o))),
        ("ITEMS/S STORED END TO END",
         lambda o: f"{o.items_per_s:.1f}" if o.stored_s else "not all stored"),
        ("direct best, same slot policy (items/s)", lambda o: f"{base.inputs_per_s:.1f}"),
        (f"RATIO TO DIRECT BEST (target >= {params.target_ratio:.2f})",
         lambda o: f"{ratio(o, base):.2f}x" if o.stored_s else "-"),
        ("  = batching x slot use x lead-in/tail",
         lambda o: " x ".join(f"{f:.2f}" for f in _factors(o, base))),
        ("embed calls / inputs", lambda o: f"{o.calls.calls} / {o.calls.inputs}"),
        ("  of them chats' calls / inputs",
         lambda o: f"{o.kinds['chat'].calls} / {o.kinds['chat'].inputs}"),
        ("batch size min / median / mean / max", lambda o: size_stats(o.calls.sizes)),
        ("calls in flight: peak / cap (mean)",
         lambda o: f"{o.peak_in_flight} / {params.slots_cap} "
                   f"(mean {o.calls.mean_in_flight:.2f})"),
        (f"  of them chats': peak (mean), own slots {own_chat_slots}",
         lambda o: f"{o.kinds['chat'].peak_in_flight} "
                   f"(mean {o.kinds['chat'].mean_in_flight:.2f})"),
        ("lowest slot limit seen (adaptive)",
         lambda o: "-" if o.sampled.min_limit is None else str(o.sampled.min_limit)),
        ("backend time per call, mean (ms)",
         lambda o: f"{o.calls.busy_s / max(1, o.calls.calls) * 1000:.0f}"),
        ("PER-TASK OVERHEAD: slot idle per call (ms)", _idle_per_call_ms),
        ("no call running, share of embedding phase",
         lambda o: f"{o.calls.idle_share * 100:.0f} %" if o.calls.calls else "-"),
        ("first post -> first embed call",
         lambda o: _span(o, o.t0, o.calls.first_start)),
        ("first embed call -> last call's end",
         lambda o: _span(o, o.calls.first_start, o.calls.last_end)),
        ("last call's end -> all stored (store lag)",
         lambda o: _span(o, o.calls.last_end, stored_s(o))),
        ("peak queue depth (" + "/".join(QUEUES) + ")",
         lambda o: "/".join(str(o.sampled.peak_depth[q]) for q in QUEUES)),
        ("peak unacked (Celery in flight)", lambda o: str(o.sampled.peak_unacked)),
        ("store points/s during a store backlog", _store_rate),
        ("CPU s: gateway / alerts / chats / store",
         lambda o: _cpu(o, ("gateway", "alerts", "chats", "store"))),
        ("CPU s: controller / redis / bench process",
         lambda o: _cpu(o, ("controller", "redis", "bench"))),
        (f"CPU busy, all of the above ({cpu.cores()} cores)", _cpu_busy),
        ("intake answers", _answers),
        ("intake latency p50 / p99 (ms)",
         lambda o: f"{percentile_ms(o.posted.latencies_s, 0.5)} / "
                   f"{percentile_ms(o.posted.latencies_s, 0.99)}"),
        ("duplicates / parked / sheds / dead letters",
         lambda o: f"{o.posted.duplicates} / {o.after.get('parked', '?')} / "
                   f"{o.decisions_delta('shed:'):.0f} / {o.after.get('dead_letters', '?')}"),
    ]  # fmt: skip


def scenario_table(outcomes: list[Outcome], direct: list[Direct], params: Params) -> str:
    """Rows of labels, one column per scenario."""
    base = baseline(direct, params)
    lines = [_line("end to end through cluster-cortex", [o.scenario.name for o in outcomes])]
    lines.append("-" * max(len(lines[0]), _LABEL_W + _CELL_W * len(outcomes)))
    for label, read in rows(base, params):
        lines.append(_line(label, [read(o) for o in outcomes]))
    return "\n".join(lines)


def histograms(outcomes: list[Outcome], params: Params) -> str:
    """Embed calls per batch size, one line per scenario."""
    lines = ["inputs per embed call (size: calls)"]
    for o in outcomes:
        lines.append(
            f"  {o.scenario.name:<10}{histogram(o.calls.sizes, limit=params.embed_batch_size)}"
        )
    return "\n".join(lines)


def _line(label: str, cells: list[str]) -> str:
    return f"{label:<{_LABEL_W}}" + "".join(f"{cell:<{_CELL_W}}" for cell in cells).rstrip()


NOTES = """\
notes: the direct best follows cluster-cortex's slot policy. Alerts may use every slot up to
  the cap, and so may chats: they borrow the CORTEX_SLOTS_RESERVED slots while no alert or
  search call waits for one, never while one does, so in a mix they wait while alert calls
  run. Every slot up to the cap serves one kind or the other, so called directly under that
  policy the backend embeds any mix at the cap's best (the direct table's marked row): direct
  best = items / best(cap) in every scenario. Chats' own slots (cap - reserved) are no
  baseline any more and are not measured; a "chats': peak" above them shows they borrowed.
  End to end = items accepted / (first post -> first /v1/stats poll showing all stored),
  after a one-alert warm-up before the direct sweep: the guard's first call carries one input
  until it has learned the backend's speed (kept in Redis for the life of a deployment).
  The ratio splits into three shares of time: batching = the direct time of the inputs the
  workers embedded over the time their calls would take back to back on the cap's slots at
  the measured cost per call; slot use = that over the embedding phase (first call's start ->
  last call's end); lead-in/tail = the rest (end to end over the embedding phase).
  Per-task overhead = slot-time not spent in the backend per embed call, at the peak number of
  calls in flight: (peak x embedding phase - backend busy) / calls. It holds Celery's fetch
  and ack, the guard's Redis round trips and slot waits, building texts and the settlement
  (store hand-off, put-back, ack in one script).
  Worker processes default to cluster-cortex's own, one more than the cap for alerts and
  for chats: the spare process already waits for a slot when a call ends and takes it at
  once (--set alerts_concurrency=N / chats_concurrency=N).
  CPU = user + system seconds from the first post until all stored; a worker counts its pool
  children; the bench process holds the embedder (HTTP, vectors), the clients and the poller."""


def verdicts(outcomes: list[Outcome], direct: list[Direct], params: Params) -> str:
    """One line per scenario: the ratio target and the concurrency cap."""
    base = baseline(direct, params)
    lines = []
    for o in outcomes:
        got = ratio(o, base)
        if o.stored_s is None:
            lines.append(
                f"{o.scenario.name}: NOT ALL STORED within {params.drain_timeout_s:g} s of the "
                f"last post ({sum(o.stored.values())} of {o.items})"
            )
            continue
        lines.append(
            f"{o.scenario.name}: end to end {got:.3f}x the direct best under the same slot "
            f"policy, {base.inputs_per_s:.0f} items/s "
            f"(target >= {params.target_ratio:.2f}x): {_yes(got >= params.target_ratio)}; "
            f"peak in flight {o.peak_in_flight} <= cap {params.slots_cap}: "
            f"{_yes(o.peak_in_flight <= params.slots_cap)}"
        )
    return "\n".join(lines)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def parameters(params: Params, *, qdrant_path: str, load: tuple[float, float]) -> str:
    """The run's parameters (worker processes as used), the machine, the CORTEX_ settings."""
    hidden = ("scenarios", "keep_logs")
    used = asdict(params) | {
        "alerts_concurrency": params.alerts_processes,
        "chats_concurrency": params.chats_processes,
    }
    values = ", ".join(f"{k}={v}" for k, v in used.items() if k not in hidden)
    env = " ".join(f"{k}={v}" for k, v in cortex_env(params).items())
    return (
        f"parameters: {values}\n"
        f"embedder cost: {params.delay_s * 1000:g} ms per call + "
        f"{params.per_input_delay_s * 1000:g} ms per input; a full batch of "
        f"{params.embed_batch_size} takes {params.best_call_s * 1000:.0f} ms; TCP_NODELAY "
        f"{'on (as Ollama)' if params.tcp_nodelay else 'off (about 40 ms more per call)'}\n"
        f"qdrant local mode in {qdrant_path}; machine: {cpu.cores()} cores, 1-minute load "
        f"average {load[0]:.2f} at the start and {load[1]:.2f} at the end\n"
        f"cluster-cortex settings: {env}"
    )
