"""The benchmark's parameters: one set, used unchanged for the baseline and the gateway."""

import argparse
from dataclasses import dataclass, replace

# Storm detection out of reach: in the unique and duplicates scenarios every alert is queued
# on its own, as it is below the threshold in production.
NO_STORM_THRESHOLD = 1_000_000_000


@dataclass(frozen=True)
class Params:
    """How wrk drives both servers, and how long each phase lasts; printed with the results.

    Every phase gives each server `slices` wrk runs of `slice_s` seconds (wrk takes whole
    seconds), the two servers taking turns.
    """

    threads: int = 1
    connections: int = 32
    warmup_s: int = 3
    slice_s: int = 5
    slices: int = 3
    # The paced phase's rate, as a fraction of the same server's saturated rate.
    pace_fraction: float = 0.8
    # Saturated phases back to back in the storm scenario, RSS read after each.
    storm_runs: int = 3
    # The README's default threshold: a storm is more than this many distinct alerts of one
    # alertname per window.
    storm_threshold: int = 20
    # The chat flood against the backlog cap (the README's default cap); 0 skips it.
    flood_s: int = 12
    chat_backlog_cap: int = 5000
    keep_logs: bool = False

    @property
    def phase_s(self) -> int:
        """Seconds of load each server gets in one phase."""
        return self.slice_s * self.slices


QUICK = Params(warmup_s=1, slice_s=2, slices=2, flood_s=6)


def parse_args(argv: list[str] | None = None) -> Params:
    """Params from the command line: --quick, --duration, --threads, --connections."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.gateway",
        description="The gateway's intake against a bare FastAPI + one LPUSH endpoint, under wrk.",
    )
    parser.add_argument("--quick", action="store_true", help="short phases (about 1.5 minutes)")
    parser.add_argument(
        "--duration", type=int, metavar="S", help="seconds of load per server and phase"
    )
    parser.add_argument("--threads", type=int, help="wrk threads")
    parser.add_argument("--connections", type=int, help="wrk connections (all threads)")
    parser.add_argument(
        "--flood", type=int, metavar="S", help="seconds of the chat flood (0 skips it)"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else Params()
    params = replace(params, keep_logs=args.keep_logs)
    if args.duration is not None:
        params = replace(params, slice_s=max(1, round(args.duration / params.slices)))
    if args.flood is not None:
        params = replace(params, flood_s=max(0, args.flood))
    if args.threads is not None:
        params = replace(params, threads=args.threads)
    if args.connections is not None:
        params = replace(params, connections=args.connections)
    if params.connections < params.threads:
        parser.error("--connections must be at least --threads (wrk gives each thread its share)")
    return params
