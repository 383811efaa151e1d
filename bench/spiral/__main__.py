"""Entry point: `python -m bench.spiral [--duration S] [--quick]`."""

import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from bench.spiral.cortex import CortexReceiver
from bench.spiral.naive import NaiveReceiver
from bench.spiral.params import parse_args
from bench.spiral.receiver import Receiver
from bench.spiral.report import NOTES, parameters, table, timelines, verdicts
from bench.spiral.run import Result, log, run_receiver


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so every `finally` stops what it started.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run both receivers, print the table; 0 once the runs completed, whatever the numbers."""
    params = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="cortex-spiral-"))
    cortex = CortexReceiver(params, workdir)
    receivers: dict[str, Callable[[], Receiver]] = {
        "naive": lambda: NaiveReceiver(params),
        "cortex": lambda: cortex,
    }
    results: list[Result] = []
    try:
        for name in params.receivers:
            results.append(run_receiver(receivers[name](), params))
    except KeyboardInterrupt:
        log(f"interrupted; everything stopped (logs kept in {workdir})")
        return 130
    except Exception:
        log(f"run failed; cluster-cortex logs in {workdir}:\n{cortex.logs()}")
        raise
    if params.keep_logs:
        log(f"cluster-cortex logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(parameters(params))
    print()
    print(table(results, params))
    print()
    print(timelines(results))
    print(NOTES)
    print()
    print(verdicts(results, params))
    return 0


if __name__ == "__main__":
    sys.exit(main())
