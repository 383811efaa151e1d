"""Entry point: `python -m bench.spiral [--profile NAME] [--quick] [--duration S]`."""

import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from bench.spiral import report, summary, verdicts
from bench.spiral.cortex import CortexReceiver
from bench.spiral.fixed import SweepStep, best, sweep
from bench.spiral.naive import NaiveReceiver
from bench.spiral.params import Params, Plan, parse_args
from bench.spiral.run import Result, log, run_receiver


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so every `finally` stops what it started.
    raise KeyboardInterrupt


@dataclass
class _Outcome:
    """Every run of one profile."""

    params: Params
    results: dict[str, Result] = field(default_factory=dict)
    steps: list[SweepStep] = field(default_factory=list)

    @property
    def best(self) -> SweepStep | None:
        return best(self.steps, self.params)


def main(argv: list[str] | None = None) -> int:
    """Run every selected profile, print the tables; 0 once the runs completed."""
    plan = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="cortex-spiral-"))
    cortexes: list[CortexReceiver] = []
    try:
        outcomes = _run_all(plan, workdir, cortexes)
    except KeyboardInterrupt:
        log(f"interrupted; everything stopped (logs kept in {workdir})")
        return 130
    except Exception:
        log(f"run failed; cluster-cortex logs in {workdir}:")
        for cortex in cortexes:
            log(cortex.logs())
        raise
    if plan.keep_logs:
        log(f"cluster-cortex logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    _print(outcomes)
    return 0


def _run_all(plan: Plan, workdir: Path, cortexes: list[CortexReceiver]) -> dict[str, _Outcome]:
    outcomes: dict[str, _Outcome] = {}
    for profile, params in plan.runs:
        outcome = outcomes[profile.name] = _Outcome(params)
        for name in params.receivers:
            if name == "fixed":
                outcome.steps = sweep(params)
            elif name == "naive":
                outcome.results[name] = run_receiver(NaiveReceiver(params), params)
            else:
                cortexes.append(CortexReceiver(params, workdir / profile.name))
                outcome.results[name] = run_receiver(cortexes[-1], params)
    if plan.baseline is not None:
        log("[deployed] fixed-concurrency sweep, for the uncapped profile's chat target")
        outcomes["deployed"] = _Outcome(plan.baseline, steps=sweep(plan.baseline))
    return outcomes


def _print(outcomes: dict[str, _Outcome]) -> None:
    base: Params | None = None
    for outcome in outcomes.values():
        print(report.parameters(outcome.params, base))
        base = base or outcome.params
    today = outcomes.get("today")
    if today is not None and today.results:
        results = list(today.results.values())
        print()
        print(report.table(results, today.params))
        print()
        print(report.timelines([(r.receiver, r) for r in results]))
        print(report.NOTES)
        print()
        print(report.verdicts(results, today.params))
    for outcome in outcomes.values():
        if outcome.steps:
            print()
            print(summary.sweep_table(outcome.steps, outcome.best, outcome.params))
    columns = _columns(outcomes)
    print()
    print("node profiles side by side (figures from the simulated node unless marked):")
    print(summary.table(columns))
    print()
    print(report.timelines([(label, r) for label, r, _ in columns]))
    print()
    print("verdicts (the issue's targets; printed, not asserted):")
    for verdict in _verdicts(outcomes):
        print(verdict)


def _columns(outcomes: dict[str, _Outcome]) -> list[summary.Column]:
    columns: list[summary.Column] = []
    for name, outcome in outcomes.items():
        if outcome.best is not None:
            fixed = outcome.best.result
            columns.append((f"{name}: {fixed.receiver}", fixed, outcome.params))
        columns += [(f"{name}: {receiver}", result, outcome.params)
                    for receiver, result in outcome.results.items()]  # fmt: skip
    return columns


def _verdicts(outcomes: dict[str, _Outcome]) -> list[verdicts.Verdict]:
    found: list[verdicts.Verdict] = []
    deployed = outcomes.get("deployed")
    best_k = deployed.best if deployed else None
    swept = bool(deployed and deployed.steps)
    for name, outcome in outcomes.items():
        cortex = outcome.results.get("cortex")
        if name == "today":
            found += verdicts.today(list(outcome.results.values()), outcome.params)
        elif cortex is None:
            continue
        elif name == "uncapped":
            found += verdicts.uncapped(cortex, best_k, outcome.params, swept)
        elif name == "deployed":
            found += verdicts.deployed(cortex, best_k, outcome.params, swept)
        elif name == "seed-cost":
            found += verdicts.seed_cost(cortex, outcome.params)
    return found


if __name__ == "__main__":
    sys.exit(main())
