"""The scenario's parameters: one set per node profile, the same for every receiver in it.

Time is compressed: one simulated Alertmanager `group_interval` of 5 minutes takes 5 s here, a
1-minute Prometheus scrape takes 1 s, and the node's embedding cost is chosen so that the chat
job offers more than twice what the node can embed. Every value can be changed on the command
line; `--quick` shortens the storm, the drain timeout and the comparison window only.
"""

import argparse
from dataclasses import dataclass, fields, replace

from bench.spiral.profiles import PROFILES, Profile

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
    # Threads of a call that sends no options.num_thread: 16 is Ollama with no CPU limit.
    node_threads: int = 16
    embed_dim: int = 64
    # Prometheus rules (see prometheus.py).
    scrape_s: float = 1.0
    high_load_for_scrapes: int = 2
    pod_recover_scrapes: int = 5
    pods: int = 40
    # Alerts from pods on other nodes, at a steady rate while the chat job runs (see
    # prometheus.py): alert work that does not depend on node02's pressure.
    steady_alerts_per_s: float = 0.0
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
    # The fixed-concurrency baseline (fixed.py): k = 1, 2, ... up to this, or the first unsafe.
    fixed_k_max: int = 8
    # Chat messages stored within this many seconds of the storm's start are compared.
    compare_s: float = 60.0
    # cluster-cortex (see cortex.py). 0: not set, the README's default applies.
    slots_cap: int = 2
    embed_batch_size: int = 16
    breaker_slow_call_s: float = 4.0
    embed_num_thread: int = 4
    # Verdict: pressure back at or below 1.0 within this many group intervals.
    verdict_group_intervals: int = 3
    seed: int = 7
    # The node profile (profiles.py), which receivers to run, and whether to keep logs.
    profile: str = "today"
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

    @property
    def free_cores(self) -> float:
        """Cores the background leaves for embedding."""
        return max(0.0, self.cores - self.background_cores)

    @property
    def input_s(self) -> float:
        """One input's time on `embed_num_thread` threads of an idle node."""
        return self.per_input_s * self.cores / min(self.embed_num_thread, self.cores)


QUICK = {"storm_s": 8.0, "drain_timeout_s": 70.0, "compare_s": 25.0}


@dataclass(frozen=True)
class Plan:
    """What to run: the profiles in order, each with its parameters.

    `baseline` is the deployed profile's parameters when only the uncapped profile would
    otherwise run: its chat target is measured against the deployed node's fixed-k sweep.
    """

    runs: list[tuple[Profile, Params]]
    baseline: Params | None
    keep_logs: bool


def parse_args(argv: list[str] | None = None) -> Plan:
    """The plan from the command line: --profile, --quick, --duration, --set NAME=VALUE, ..."""
    parser = _parser()
    args = parser.parse_args(argv)
    runs = []
    for name in args.profile or list(PROFILES):
        params = _params(name, args, parser)
        receivers = tuple(r for r in params.receivers if args.only in (None, r))
        if receivers:
            runs.append((PROFILES[name], replace(params, receivers=receivers)))
    if not runs:
        parser.error(f"--only {args.only}: no selected profile runs that receiver")
    swept = any("fixed" in p.receivers for _, p in runs)
    baseline = None
    if any(p.profile == "uncapped" for _, p in runs) and not swept and args.only is None:
        baseline = _params("deployed", args, parser)
    return Plan(runs=runs, baseline=baseline, keep_logs=args.keep_logs)


def _params(name: str, args: argparse.Namespace, parser: argparse.ArgumentParser) -> Params:
    profile = PROFILES[name]
    params = replace(Params(), profile=name, keep_logs=args.keep_logs, **profile.overrides)
    if args.quick:
        params = replace(params, **{**QUICK, **profile.quick})
    if args.duration is not None:
        params = replace(params, storm_s=args.duration)
    if args.drain_timeout is not None:
        params = replace(params, drain_timeout_s=args.drain_timeout)
    return _overridden(params, args.set, parser)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.spiral",
        description="Replay the alert death spiral against a naive receiver and cluster-cortex, "
        "on several node profiles.",
    )
    parser.add_argument(
        "--profile", action="append", choices=list(PROFILES),
        help="run this node profile (repeatable; default: all, in this order: "
        + ", ".join(PROFILES) + ")",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="short storms (about 8 minutes)")
    parser.add_argument("--duration", type=float, help="storm (chat job) duration in seconds")
    parser.add_argument("--drain-timeout", type=float, help="seconds allowed to drain after it")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="override any parameter in every selected profile, e.g. --set per_input_s=0.04",
    )  # fmt: skip
    parser.add_argument(
        "--only", choices=["naive", "fixed", "cortex"],
        help="run one receiver where a profile has it (for investigating)",
    )  # fmt: skip
    parser.add_argument("--keep-logs", action="store_true", help="keep cluster-cortex's logs")
    return parser


def _overridden(params: Params, pairs: list[str], parser: argparse.ArgumentParser) -> Params:
    types = {f.name: f.type for f in fields(Params) if f.type in (int, float, "int", "float")}
    changes: dict[str, object] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in types or not value:
            parser.error(f"--set {pair!r}: expected NAME=VALUE with NAME one of {sorted(types)}")
        changes[name] = int(value) if types[name] in (int, "int") else float(value)
    return replace(params, **changes)  # type: ignore[arg-type]
