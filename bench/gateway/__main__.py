"""Entry point: `python -m bench.gateway [--quick] [--duration S]`."""

import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import FrameType

from bench.gateway import chatflood
from bench.gateway.backend import Backend
from bench.gateway.params import parse_args
from bench.gateway.report import digests, memory, notes, parameters, table, verdicts
from bench.gateway.run import Bench, log
from bench.gateway.servers import ServerFailed
from bench.gateway.wrk import MISSING, WrkError, wrk_binary


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so every `finally` stops what it started.
    raise KeyboardInterrupt


def _wrk_version(binary: str) -> str:
    # `wrk -v` prints its version line and exits 1.
    done = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    return " ".join((done.stdout or done.stderr).split()[:2]) or "wrk"


def main(argv: list[str] | None = None) -> int:
    """Run every scenario and print the report; 0 once the runs completed, whatever the numbers."""
    params = parse_args(argv)
    binary = wrk_binary()
    if binary is None:
        print(MISSING, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="cortex-bench-gateway-"))
    backend = Backend(workdir / "redis")
    try:
        backend.start()
        results = Bench(params, backend, workdir / "logs").run()
        flood = None
        if params.flood_s:
            log(f"[chat flood] {params.flood_s}s against the backlog cap")
            flood = chatflood.ChatFlood(
                backend, workdir / "logs", duration_s=params.flood_s,
                cap_items=params.chat_backlog_cap,
            ).run()  # fmt: skip
    except KeyboardInterrupt:
        log(f"interrupted; everything stopped (logs kept in {workdir})")
        return 130
    except (ServerFailed, WrkError) as exc:
        log(f"run failed: {exc}\n(logs kept in {workdir})")
        return 1
    finally:
        backend.stop()
    if params.keep_logs:
        log(f"logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(table(results))
    print()
    print(memory(results))
    print(digests(results))
    print()
    print(verdicts(results, params))
    print()
    if flood is not None:
        print(chatflood.report(flood))
        print()
    print(notes(params))
    print()
    print(parameters(params, _wrk_version(binary)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
