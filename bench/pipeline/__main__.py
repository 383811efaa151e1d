"""Entry point: `python -m bench.pipeline [--quick] [--only SCENARIO] [--set NAME=VALUE]`."""

import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from bench.pipeline.direct import Direct, sweep
from bench.pipeline.meter import MeteredEmbedder
from bench.pipeline.params import Params, parse_args
from bench.pipeline.report import (
    NOTES,
    direct_table,
    histograms,
    parameters,
    scenario_table,
    verdicts,
)
from bench.pipeline.scenario import NotStored, Outcome, log, run, scenarios, warm_up
from bench.pipeline.stack import Stack


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so every `finally` stops what it started.
    raise KeyboardInterrupt


def _report(
    direct: list[Direct], outcomes: list[Outcome], params: Params, *, stack: Stack, load: float
) -> None:
    print(direct_table(direct, params))
    print()
    if outcomes:
        print(scenario_table(outcomes, direct, params))
        print()
        print(histograms(outcomes, params))
        print(NOTES)
        print()
        print(verdicts(outcomes, direct, params))
        print()
    load_now = os.getloadavg()[0]
    print(parameters(params, qdrant_path=str(stack.qdrant_path), load=(load, load_now)))


def _measure(stack: Stack, embedder: MeteredEmbedder, params: Params) -> int:
    """Start the stack, measure the baseline and every scenario, print; the exit status."""
    load = os.getloadavg()[0]
    log("starting cluster-cortex (redis-server, workers, controller, gateway)")
    try:
        stack.start(embedder.url)
        log("warm-up: one alert end to end, so the guard has learned the embedder's speed")
        warm_up(stack, params)
    except (RuntimeError, OSError) as exc:
        log(f"cluster-cortex did not start: {exc}")
        return 1
    log(f"direct baseline: {params.slots_cap} threads, {params.direct_s:g} s per batch size")
    direct = sweep(embedder, params)
    outcomes: list[Outcome] = []
    for scenario in scenarios(params):
        log(f"[{scenario.name}] posting {scenario.alerts} alerts and {scenario.chats} chats")
        try:
            outcomes.append(run(stack, embedder, scenario, params))
        except NotStored as failed:
            _report(direct, [*outcomes, failed.outcome], params, stack=stack, load=load)
            log(f"FAILED: {failed}; stored at the deadline {failed.outcome.stored}, accepted "
                f"{dict(failed.outcome.posted.accepted)}; /v1/stats:\n"
                f"{json.dumps(failed.outcome.after, indent=2)}\n{stack.logs()}")  # fmt: skip
            return 1
        log(f"[{scenario.name}] stored in {outcomes[-1].stored_s:.1f}s")
    _report(direct, outcomes, params, stack=stack, load=load)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 once every run completed, whatever the numbers."""
    params = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="cortex-pipeline-"))
    embedder = MeteredEmbedder(dim=params.embed_dim, tcp_nodelay=bool(params.tcp_nodelay))
    embedder.configure(delay_s=params.delay_s, per_input_delay_s=params.per_input_delay_s)
    embedder.start()
    stack = Stack(params, workdir)
    status = 1
    try:
        status = _measure(stack, embedder, params)
    except KeyboardInterrupt:
        log("interrupted")
        status = 130
    finally:
        stack.stop()
        embedder.stop()
        if params.keep_logs or status != 0:
            log(f"cluster-cortex logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
