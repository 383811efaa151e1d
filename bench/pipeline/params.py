"""The benchmark's parameters: one set per run, printed with the results.

The embedder's cost is fixed (`delay_s` per call plus `per_input_delay_s` per input), so the
best possible throughput is known in closed form and measured directly in the same run.
`--quick` shrinks the traffic and the timeouts only; `--set NAME=VALUE` changes any number,
except to a cost at which cluster-cortex would cut its calls below `embed_batch_size` (the
direct best is measured at that size, so such a run would have no fair baseline).
"""

import argparse
from dataclasses import dataclass, fields, replace

from common.protect.pace import Pace
from common.settings import CommonSettings

SCENARIOS = ("alerts", "chats", "mixed")
_UNCAPPED = 1 << 30


@dataclass(frozen=True)
class Params:
    """Everything that shapes a run."""

    # The development embedder's fixed cost, and its vector size (cheap vectors on purpose).
    delay_s: float = 0.05
    per_input_delay_s: float = 0.004
    embed_dim: int = 64
    # 1: the embedder answers without Nagle's delay, as Ollama does (see meter.py).
    tcp_nodelay: int = 1
    # cluster-cortex: CORTEX_SLOTS_CAP, CORTEX_SLOTS_RESERVED, CORTEX_EMBED_BATCH_SIZE.
    slots_cap: int = 2
    slots_reserved: int = 1
    embed_batch_size: int = 32
    # Worker processes (CORTEX_ALERTS/CHATS_CONCURRENCY); 0: cluster-cortex's default, one
    # more than the cap for both kinds (chats may borrow up to the cap), so a process already
    # waiting takes a slot the moment one is released.
    alerts_concurrency: int = 0
    chats_concurrency: int = 0
    # 1: Qdrant's local-mode folder on tmpfs (/dev/shm). Local mode commits an SQLite
    # transaction per point, so on a disk the store worker measures fsync latency instead.
    qdrant_tmpfs: int = 1
    # The direct baseline: seconds per batch size, from `slots_cap` client threads (what
    # alerts and, borrowing the reserved slots, chats may use).
    direct_s: float = 4.0
    # Traffic: distinct alerts (webhooks of 1..max_alerts_per_webhook) and chat messages.
    alerts: int = 6000
    chats: int = 6000
    mixed_alerts: int = 3000
    mixed_chats: int = 3000
    max_alerts_per_webhook: int = 3
    chat_batch_size: int = 20
    posters: int = 4
    # Seconds allowed after the last post is answered until everything is stored.
    drain_timeout_s: float = 180.0
    poll_s: float = 0.1
    target_ratio: float = 0.9
    seed: int = 7
    scenarios: tuple[str, ...] = SCENARIOS
    keep_logs: bool = False

    @property
    def chat_slots(self) -> int:
        """Slots chats may use: the whole cap, the reserved ones borrowed while no alert waits."""
        return self.slots_cap

    @property
    def alerts_processes(self) -> int:
        """The alerts worker's processes: as set, else one more than the cap."""
        return self.alerts_concurrency or self.slots_cap + 1

    @property
    def chats_processes(self) -> int:
        """The chats worker's processes: as set, else one more than the slots chats may use."""
        return self.chats_concurrency or self.chat_slots + 1

    @property
    def best_call_s(self) -> float:
        """Seconds one call of a full batch costs the embedder."""
        return self.delay_s + self.embed_batch_size * self.per_input_delay_s

    def ideal_at(self, slots: int) -> float:
        """The closed-form best of `slots` calls of full batches back to back."""
        return slots * self.embed_batch_size / self.best_call_s

    def call_size(self, target_s: float) -> int:
        """Inputs a call meant to last `target_s` may carry at this cost (before the batch cap).

        The guard sizes calls from the latency per input it learned (common/protect/pace.py), never
        below the adaptive latency floor. It first learns it from a one-input call (the
        warm-up), the dearest per input, then drifts towards what full calls cost; sizing
        from the first keeps this on the safe side.
        """
        floor_s = _default("adaptive_latency_floor_s")
        per_input_s = max(floor_s, self.delay_s + self.per_input_delay_s)
        # Uncapped by the batch size, so the report can show the headroom.
        return Pace(baseline_s=per_input_s).batch(target_s, _UNCAPPED)


def _default(name: str) -> float:
    """A CommonSettings default the benchmark leaves as cluster-cortex ships it."""
    value: float = CommonSettings.model_fields[name].default
    return value


def call_targets() -> dict[str, float]:
    """The targets that size calls (an own slot's call, a borrowed slot's), by setting name."""
    return {
        "CORTEX_EMBED_CALL_TARGET_S": _default("embed_call_target_s"),
        "CORTEX_SLOTS_BORROW_TARGET_S": _default("slots_borrow_target_s"),
    }


def quick(params: Params) -> Params:
    """Less traffic and shorter timeouts; the costs and the stack stay the same."""
    return replace(
        params, direct_s=2.0, alerts=1500, chats=1500, mixed_alerts=750, mixed_chats=750,
        drain_timeout_s=90.0,
    )  # fmt: skip


def parse_args(argv: list[str] | None = None) -> Params:
    """Params from the command line: --quick, --only, --keep-logs, --set NAME=VALUE."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.pipeline",
        description="Items/s stored end to end against the embedder's direct batched best.",
    )
    parser.add_argument("--quick", action="store_true", help="less traffic (about a minute)")
    parser.add_argument(
        "--only", action="append", choices=SCENARIOS, help="run this scenario (repeatable)"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep cluster-cortex's logs")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="override a numeric parameter, e.g. --set per_input_delay_s=0.01",
    )  # fmt: skip
    args = parser.parse_args(argv)
    params = Params()
    if args.quick:
        params = quick(params)
    params = replace(params, keep_logs=args.keep_logs)
    if args.only:
        params = replace(params, scenarios=tuple(dict.fromkeys(args.only)))
    return _overridden(params, args.set, parser)


def _overridden(params: Params, pairs: list[str], parser: argparse.ArgumentParser) -> Params:
    types = {f.name: f.type for f in fields(Params) if f.type in (int, float, "int", "float")}
    changes: dict[str, int | float] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in types or not value:
            parser.error(f"--set {pair!r}: expected NAME=VALUE with NAME one of {sorted(types)}")
        try:
            changes[name] = int(value) if types[name] in (int, "int") else float(value)
        except ValueError:
            parser.error(f"--set {pair!r}: {value!r} is not a number")
    params = replace(params, **changes)  # type: ignore[arg-type]
    if params.slots_cap < 1 or params.embed_batch_size < 1 or params.posters < 1:
        parser.error("slots_cap, embed_batch_size and posters must be at least 1")
    if params.slots_reserved < 1 or params.alerts_concurrency < 0 or params.chats_concurrency < 0:
        parser.error("slots_reserved must be at least 1 (as cluster-cortex requires), and the "
                     "concurrencies 0 (derived) or more")  # fmt: skip
    for name, target_s in call_targets().items():
        if (size := params.call_size(target_s)) < params.embed_batch_size:
            parser.error(
                f"at {params.best_call_s:g} s per full call, {name}={target_s:g} cuts calls to "
                f"{size} inputs while the direct best is measured at embed_batch_size="
                f"{params.embed_batch_size}: set embed_batch_size={size} or a lower cost"
            )
    return params
