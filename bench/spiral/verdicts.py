"""The issue's targets per node profile, as PASS/FAIL lines (printed, never asserted)."""

import math
from dataclasses import dataclass

from bench.spiral import figures
from bench.spiral.cortex import call_target_s
from bench.spiral.fixed import SweepStep
from bench.spiral.params import Params
from bench.spiral.run import Result

# cluster-cortex's chats against the best safe fixed concurrency.
TARGET_RATIO = 0.8
# Chats keep moving: never this many group intervals with chats waiting and none stored.
STALL_GROUP_INTERVALS = 2


@dataclass(frozen=True)
class Verdict:
    """One target of one profile: met or not, and the figures that say so."""

    profile: str
    ok: bool
    text: str

    def __str__(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.profile}: {self.text}"


def today(results: list[Result], params: Params) -> list[Verdict]:
    """The original targets: back to calm within K group intervals, all accepted stored."""
    k = params.verdict_group_intervals
    verdicts = []
    for r in results:
        back = r.back_to_calm_s
        calm = r.first_pressure_alert_s is None or (
            back is not None and back <= k * params.group_interval_s
        )
        verdicts += [
            Verdict("today", calm, f"{r.receiver}: pressure back <= 1.0 within {k} group "
                    "intervals of the first pressure alert (or none fired)"),
            Verdict("today", r.all_stored, f"{r.receiver}: everything accepted stored"),
        ]  # fmt: skip
    return verdicts


def uncapped(r: Result, best: SweepStep | None, params: Params, swept: bool) -> list[Verdict]:
    """Safe from the first call that asked for num_thread; chats at the deployed best rate."""
    capped = figures.first_capped_s(r)
    if capped is None:
        peak = r.peak_scrape_pressure
        cap = Verdict(
            "uncapped", False, "pressure <= 1.0 once the client caps threads: no call sent "
            f"options.num_thread (peak {peak:.2f} as a 1 s average)",
        )  # fmt: skip
    else:
        over = figures.scrapes_over_after(r, max(0.0, capped), params.scrape_s)
        cap = Verdict(
            "uncapped", over <= 1,
            f"pressure <= 1.0 from the first call with num_thread (at {capped:.1f} s; one 1 s "
            f"average over allowed): {over} over",
        )  # fmt: skip
    return [cap, _chats(r, best, params, "uncapped", swept)]


def deployed(r: Result, best: SweepStep | None, params: Params, swept: bool) -> list[Verdict]:
    """Never over 1.0; chats stored at least 0.8x the best safe fixed k."""
    return [
        Verdict("deployed", r.peak_pressure <= 1.0,
                f"pressure <= 1.0 throughout: peak {r.peak_pressure:.2f} (instant), "
                f"{r.over_s:.1f} s over"),
        _chats(r, best, params, "deployed", swept),
    ]  # fmt: skip


def seed_cost(r: Result, params: Params) -> list[Verdict]:
    """Alerts stored, chats moving in small batches, no healthy call timed out, no flapping."""
    accepted = len(r.deliveries.accepted)
    timed_out, healthy = figures.abandoned(r)
    transitions, opens = figures.breaker(r)
    return [
        Verdict("seed-cost", r.stored.alerts >= accepted,
                f"every accepted alert stored: {r.stored.alerts} of {accepted}"),
        _moving(r, params),
        Verdict("seed-cost", healthy == 0,
                f"no healthy call timed out: {healthy} healthy of {timed_out} timed out"),
        Verdict("seed-cost", opens <= 1,
                f"breaker does not flap (opens at most once): {opens} opens, "
                f"{transitions} transitions"),
    ]  # fmt: skip


def small_batch(params: Params) -> int:
    """The most inputs a chat call may carry and count as small: twice what the target fits."""
    return 2 * max(1, math.floor(call_target_s() / params.input_s))


def _moving(r: Result, params: Params) -> Verdict:
    stall = figures.longest_chat_stall_s(r)
    limit_s = STALL_GROUP_INTERVALS * params.group_interval_s
    sizes = [float(c.inputs) for c in figures.calls_of(r, "chat")]
    p90 = figures.nearest_rank(sizes, 0.9)
    small = small_batch(params)
    ok = stall <= limit_s and p90 is not None and p90 <= small
    return Verdict(
        "seed-cost", ok,
        f"chats keep moving with small batches: longest stall {stall:.1f} s (<= {limit_s:.0f}), "
        f"p90 chat batch {'-' if p90 is None else f'{p90:.0f}'} (<= {small})",
    )  # fmt: skip


def _chats(r: Result, best: SweepStep | None, params: Params, profile: str, swept: bool) -> Verdict:
    w = params.compare_s
    what = f"chats stored in the first {w:.0f} s >= {TARGET_RATIO}x the best safe fixed k"
    if best is None:
        why = "no safe k" if swept else "not measured (the deployed sweep did not run)"
        return Verdict(profile, False, f"{what}: {why}")
    mine, theirs = r.chats_stored_by(w), best.result.chats_stored_by(w)
    ratio = mine / theirs if theirs else 0.0
    return Verdict(
        profile, ratio >= TARGET_RATIO,
        f"{what} (deployed, k={best.k}): {mine} vs {theirs} = {ratio:.2f}x "
        f"({mine / w:.1f} vs {theirs / w:.1f} messages/s)",
    )  # fmt: skip
