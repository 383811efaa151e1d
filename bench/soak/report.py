"""The soak's figures and verdicts, from one run's Result; printed, never asserted."""

from collections import Counter
from dataclasses import dataclass

from bench.soak.observer import Found
from bench.soak.run import Outage, Result
from bench.soak.traffic import Delivery


@dataclass(frozen=True)
class Figures:
    """What the verdicts judge, derived once."""

    accepted: list[Delivery]
    missing: list[int]
    # Seconds from Redis being back (or from the 202, if later) to the store, per stored alert.
    delays: dict[int, float]
    embedded_twice: list[int]
    stored_twice: list[int]
    answers: Counter[str]
    dropped: Counter[str]


def figures(result: Result) -> Figures:
    """Derive the per-alert delays, the misses and the doubles."""
    accepted = [d for d in result.deliveries if d.accepted_at is not None]
    delays = {
        d.seq: delay_s(d, result.found[d.seq], result.outages)
        for d in accepted
        if d.seq in result.found
    }
    answers: Counter[str] = Counter()
    for d in result.deliveries:
        answers.update(d.answers)
    return Figures(
        accepted=accepted,
        missing=sorted(d.seq for d in accepted if d.seq not in result.found),
        delays=delays,
        embedded_twice=sorted(seq for seq, n in result.embedded.items() if n > 1),
        stored_twice=sorted(seq for seq, f in result.found.items() if len(f.ids) > 1),
        answers=answers,
        dropped=Counter(d.dropped for d in result.deliveries if d.dropped),
    )


def delay_s(delivery: Delivery, found: Found, outages: list[Outage]) -> float:
    """Seconds the alert waited for its store, from its 202 or from Redis first being back.

    The clock starts at the end of the first outage that began after the 202 and before the
    store (later outages do not restart it), and the stored time is the upper bound (the
    search that found it), so the figure is never flattering.
    """
    clock = delivery.accepted_at or delivery.due_at
    for outage in outages:
        if clock < outage.down_at < found.upper:
            clock = outage.up_at
            break
    return max(0.0, found.upper - clock)


def held(result: Result, outage: Outage) -> list[int]:
    """Alerts answered 202 before the outage and not yet stored when it began."""
    return [
        d.seq
        for d in result.deliveries
        if d.accepted_at is not None
        and d.accepted_at < outage.down_at
        and (d.seq not in result.found or result.found[d.seq].lower > outage.down_at)
    ]


def restarts_table(result: Result) -> str:
    """One row per restart: how long down, what was held, how long until all of it was stored."""
    rows = ["restart  down s  unacked  embedding  alerts held  stored s after up (max)"]
    for n, outage in enumerate(result.outages, 1):
        seqs = held(result, outage)
        after = [result.found[s].upper - outage.up_at for s in seqs if s in result.found]
        worst = f"{max(after):.1f}" if after else "-"
        missing = sum(1 for s in seqs if s not in result.found)
        note = f" ({missing} never stored)" if missing else ""
        rows.append(
            f"{n:>7}  {outage.up_at - outage.down_at:>6.1f}  {outage.unacked:>7}"
            f"  {outage.embedding:>9}  {len(seqs):>11}  {worst:>24}{note}"
        )
    return "\n".join(rows)


def summary(result: Result, fig: Figures) -> str:
    """Counts of the traffic, the answers, the stores and the instrument's own reads."""
    delays = sorted(fig.delays.values())
    answers = ", ".join(f"{k} x{v}" for k, v in sorted(fig.answers.items()))
    lines = [
        f"alerts sent: {len(result.deliveries)}; answered 202: {len(fig.accepted)}"
        f" (of them 'duplicate': {sum(d.duplicate for d in fig.accepted)})",
        f"answers to all tries: {answers}",
        f"dropped by the sender: {dict(fig.dropped) or 0}",
        f"stored: {len(fig.delays)}; never stored: {len(fig.missing)}",
        f"wait for the store, s (from the 202 or Redis back): p50 {_pct(delays, 50)},"
        f" p99 {_pct(delays, 99)}, max {_pct(delays, 100)}",
        f"embedded twice: {len(fig.embedded_twice)}; stored under two ids: {len(fig.stored_twice)}",
        f"searches by the observer: {result.searches.made}, failed {result.searches.failed or 0},"
        f" badly ranked {result.searches.mixed}",
    ]
    lines += [f"  alert {seq} not stored; held in: {result.left.where(seq) or ['nowhere']}"
              for seq in fig.missing[:10]]  # fmt: skip
    return "\n".join(lines)


def leftovers(result: Result) -> str:
    """Where work sat when the run ended (all empty after a clean run)."""
    if result.left.error:
        return f"leftovers: Redis unreadable ({result.left.error})"
    parts = [f"{name} {place.messages}" for name, place in result.left.places.items()]
    return "left in Redis at the end: " + ", ".join(parts)


def verdicts(result: Result, fig: Figures) -> list[str]:
    """The issue's targets, each PASS or FAIL with its figure."""
    window = result.params.window_s
    worst = max(fig.delays.values(), default=0.0)
    caught = sum(o.unacked for o in result.outages)
    checks = [
        (not fig.missing, f"every alert answered 202 is stored (missing {len(fig.missing)})"),
        (worst <= window, f"each stored within {window:.0f}s of Redis back (worst {worst:.1f}s)"),
        (not fig.embedded_twice, f"none embedded twice ({len(fig.embedded_twice)})"),
        (not fig.stored_twice, f"none stored twice ({len(fig.stored_twice)})"),
        (caught > 0, f"the restarts caught held work ({caught} unacked over all restarts)"),
        (not fig.dropped, f"no notification dropped ({sum(fig.dropped.values())})"),
        (not result.dead, f"no process died ({', '.join(result.dead) or 'none'})"),
    ]
    return [f"{'PASS' if ok else 'FAIL'}  {text}" for ok, text in checks]


def _pct(values: list[float], pct: int) -> str:
    if not values:
        return "-"
    index = min(len(values) - 1, round(pct / 100 * (len(values) - 1)))
    return f"{values[index]:.1f}"
