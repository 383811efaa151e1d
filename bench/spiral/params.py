"""The scenario's parameters: one set, used unchanged for both receivers.

Time is compressed: one simulated Alertmanager `group_interval` of 5 minutes takes 5 s here, a
1-minute Prometheus scrape takes 1 s, and the node's embedding cost is chosen so that the chat
job offers more than twice what the node can embed. Every value can be changed on the command
line; `--quick` shortens the storm and the drain timeout only.
"""

import argparse
from dataclasses import dataclass, fields, replace

# Real seconds per simulated second for settings defined in real time (per-minute budgets).
COMPRESSION = 60


@dataclass(frozen=True)
class Params:
    """Everything that shapes a run; printed with the results."""

    storm_s: float = 25.0
    drain_timeout_s: float = 180.0
    # The embedding node (processor sharing, see node.py).
    cores: int = 16
    background_cores: float = 4.0
    restart_cores_per_pod: float = 0.25
    per_input_s: float = 0.05
    embed_dim: int = 64
    # Prometheus rules (see prometheus.py).
    scrape_s: float = 1.0
    high_load_for_scrapes: int = 2
    pod_recover_scrapes: int = 5
    pods: int = 40
    # Alertmanager (see alertmanager.py).
    group_wait_s: float = 0.5
    group_interval_s: float = 5.0
    # 0: re-send the whole group at every flush, changed or not (see alertmanager.py).
    repeat_interval_s: float = 0.0
    retry_backoff_s: float = 0.1
    # The runaway chat job (see chatjob.py).
    chat_batches_per_s: float = 3.0
    chat_batch_size: int = 16
    chat_timeout_s: float = 5.0
    chat_in_flight: int = 32
    # The naive receiver: Starlette's default thread pool for sync endpoints.
    naive_threads: int = 40
    # cluster-cortex.
    slots_cap: int = 2
    embed_batch_size: int = 16
    breaker_slow_call_s: float = 4.0
    # Verdict: pressure back at or below 1.0 within this many group intervals.
    verdict_group_intervals: int = 3
    seed: int = 7
    # Which receivers to run, and whether to keep cluster-cortex's logs afterwards.
    receivers: tuple[str, ...] = ("naive", "cortex")
    keep_logs: bool = False

    @property
    def node_capacity_inputs_per_s(self) -> float:
        """Inputs per second the node embeds at full speed."""
        return 1.0 / self.per_input_s

    @property
    def chat_offered_per_s(self) -> float:
        """Chat messages per second the runaway job offers."""
        return self.chat_batches_per_s * self.chat_batch_size


QUICK = {"storm_s": 8.0, "drain_timeout_s": 70.0}


def parse_args(argv: list[str] | None = None) -> Params:
    """Params from the command line: --duration, --quick, --drain-timeout, --set NAME=VALUE."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.spiral",
        description="Replay the alert death spiral against a naive receiver and cluster-cortex.",
    )
    parser.add_argument("--quick", action="store_true", help="a short storm (about 3 minutes)")
    parser.add_argument("--duration", type=float, help="storm (chat job) duration in seconds")
    parser.add_argument("--drain-timeout", type=float, help="seconds allowed to drain after it")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="override any parameter, e.g. --set per_input_s=0.04",
    )  # fmt: skip
    parser.add_argument(
        "--only", choices=["naive", "cortex"], help="run one receiver (for investigating)"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep cluster-cortex's logs")
    args = parser.parse_args(argv)
    params = Params(**QUICK) if args.quick else Params()
    params = replace(params, keep_logs=args.keep_logs)
    if args.only:
        params = replace(params, receivers=(args.only,))
    if args.duration is not None:
        params = replace(params, storm_s=args.duration)
    if args.drain_timeout is not None:
        params = replace(params, drain_timeout_s=args.drain_timeout)
    return _overridden(params, args.set, parser)


def _overridden(params: Params, pairs: list[str], parser: argparse.ArgumentParser) -> Params:
    types = {f.name: f.type for f in fields(Params) if f.type in (int, float, "int", "float")}
    changes: dict[str, object] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in types or not value:
            parser.error(f"--set {pair!r}: expected NAME=VALUE with NAME one of {sorted(types)}")
        changes[name] = int(value) if types[name] in (int, "int") else float(value)
    return replace(params, **changes)  # type: ignore[arg-type]
