"""Entry point: `python -m bench.soak [--quick] [--restarts N] ...`; see `--help`."""

import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from bench.soak import report
from bench.soak.params import Params, parse_args
from bench.soak.run import Result, log, run


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so every `finally` stops what it started.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the soak, print the figures and verdicts; 0 once the run completed."""
    params = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="cortex-soak-"))
    log(f"soak: about {params.runtime_s():.0f}s after start-up; work in {workdir}")
    try:
        result = run(params, workdir)
    except KeyboardInterrupt:
        log(f"interrupted; everything stopped (logs kept in {workdir})")
        return 130
    _print(params, result)
    if params.keep_logs or report.figures(result).missing:
        log(f"logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _print(params: Params, result: Result) -> None:
    fig = report.figures(result)
    print(f"parameters: {params}")
    print()
    print(report.restarts_table(result))
    print()
    print(report.summary(result, fig))
    print(report.leftovers(result))
    print()
    print("verdicts (the issue's targets; printed, not asserted):")
    for verdict in report.verdicts(result, fig):
        print(verdict)


if __name__ == "__main__":
    sys.exit(main())
