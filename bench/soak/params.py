"""The soak's parameters: one set per run, printed with the results."""

import argparse
from dataclasses import dataclass, replace
from typing import Any

Span = tuple[float, float]


@dataclass(frozen=True)
class Params:
    """Everything that shapes a run; spans are (low, high) seconds drawn uniformly."""

    restarts: int = 5
    # Redis down per restart, and up between restarts (the first pause is the warm-up).
    down_s: Span = (3.0, 5.0)
    pause_s: float = 30.0
    warmup_s: float = 15.0
    # One new distinct alert per webhook, every interval, until `tail_s` after the last restart.
    interval_s: float = 0.2
    tail_s: float = 30.0
    # Per document call of the development embedder: long enough that tasks are running
    # (and others prefetched) when Redis goes away. Search queries are answered at once.
    embed_delay_s: Span = (0.5, 1.5)
    # The verdict's bound: every alert answered 202 stored within this of Redis being back.
    window_s: float = 60.0
    # CORTEX_ALERTS_CONCURRENCY (README default 2): a few processes hold a few tasks.
    alert_processes: int = 3
    seed: int = 10
    keep_logs: bool = False

    def runtime_s(self) -> float:
        """About how long the run takes after start-up, if something is never stored."""
        downs = self.restarts * sum(self.down_s) / 2
        pauses = self.warmup_s + max(0, self.restarts - 1) * self.pause_s
        return pauses + downs + max(self.tail_s, self.window_s + 5)


QUICK: dict[str, Any] = {"restarts": 2, "warmup_s": 10.0, "pause_s": 20.0, "tail_s": 15.0}


def span(text: str) -> Span:
    """'3-5' -> (3.0, 5.0); '4' -> (4.0, 4.0)."""
    low, _, high = text.partition("-")
    pair = (float(low), float(high or low))
    if not 0 <= pair[0] <= pair[1]:
        raise argparse.ArgumentTypeError(f"expected LOW-HIGH with 0 <= LOW <= HIGH, got {text!r}")
    return pair


def parse_args(argv: list[str] | None) -> Params:
    """Params from the command line; `--quick` sets the short run, explicit options win."""
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    p.add_argument("--quick", action="store_true", help="2 restarts, shorter pauses (~2.5 min)")
    p.add_argument("--restarts", type=int, help="Redis restarts (default 5)")
    p.add_argument("--down-s", type=span, help="seconds Redis stays down, LOW-HIGH (3-5)")
    p.add_argument("--pause-s", type=float, help="seconds Redis is up between restarts (30)")
    p.add_argument("--warmup-s", type=float, help="traffic before the first restart (15)")
    p.add_argument("--tail-s", type=float, help="traffic after the last restart (30)")
    p.add_argument("--interval-s", type=float, help="seconds between webhooks (0.2)")
    p.add_argument("--embed-delay-s", type=span, help="embedder delay per call, LOW-HIGH")
    p.add_argument("--alert-processes", type=int, help="alerts worker processes (3)")
    p.add_argument("--seed", type=int, help="random seed (downtimes, delays, tokens)")
    p.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    args = vars(p.parse_args(argv))
    params = replace(Params(), **QUICK) if args.pop("quick") else Params()
    chosen = {k: v for k, v in args.items() if v is not None and v is not False}
    return replace(params, **chosen)
