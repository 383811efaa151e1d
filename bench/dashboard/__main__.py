"""Entry point: `python -m bench.dashboard [--out PNG] [--keep RECORDING] [--replay RECORDING]`.

Runs the real stack through a three-minute incident with a real Prometheus scraping it,
evaluates every panel's query over the run and draws the dashboard into a PNG (by default
docs/dashboard.png). `--replay` draws a kept recording again without running anything.
"""

import argparse
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from bench.dashboard import series
from bench.dashboard.scenario import Driver, Timeline
from bench.dashboard.stack import Stack

DEFAULT_OUT = series.ROOT / "docs" / "dashboard.png"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so `finally` stops every process it started.
    raise KeyboardInterrupt


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the PNG to write")
    parser.add_argument("--keep", type=Path, help="also write the recording (JSON) here")
    parser.add_argument("--replay", type=Path, help="draw this recording; run nothing")
    return parser.parse_args(argv)


def record(timeline: Timeline) -> series.Recording:
    """Run the stack through the timeline and evaluate every panel over it."""
    workdir = Path(tempfile.mkdtemp(prefix="cortex-dashboard-"))
    stack = Stack(workdir)
    try:
        stack.start()
        print(f"stack up; running {timeline.duration_s:.0f} s of traffic", file=sys.stderr)
        start, end = Driver(stack, timeline).run()
        return series.record(stack, start=start, end=end, phases=timeline.phases())
    except Exception:
        print(stack.logs(), file=sys.stderr)
        raise
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Record (or replay) and draw; 0 once the PNG is written."""
    args = _parse(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    # Imported here: matplotlib is a bench extra, and --help should work without it.
    from bench.dashboard import figure

    recording = series.load(args.replay) if args.replay else record(Timeline())
    if args.keep:
        series.save(recording, args.keep)
    figure.render(recording, args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
