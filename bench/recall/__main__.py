"""Entry point: `python -m bench.recall [--set CORTEX_X=V] [--rounds N] ...`; see `--help`."""

import argparse
import importlib
import importlib.util
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from bench.recall import checks, dataset, embedders, report, verdicts
from bench.recall.run import StackRun, log, run_stack

_THROUGHPUT = "bench.recall.throughput"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so every `finally` stops what it started.
    raise KeyboardInterrupt


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.recall", description=__doc__)
    parser.add_argument(
        "--set", action="append", default=[], metavar="CORTEX_NAME=VALUE",
        help="a setting for both stacks, e.g. CORTEX_SEARCH_FUSION=rrf",
    )  # fmt: skip
    parser.add_argument(
        "--rounds", type=int, default=4, help="passes over the questions for the latency figures"
    )
    parser.add_argument("--no-model", action="store_true", help="the word-hash stack only")
    parser.add_argument("--misses", action="store_true", help="list questions not at rank 1")
    parser.add_argument("--no-throughput", action="store_true", help="skip the embedder's")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args(argv)
    if bad := [s for s in args.set if not s.startswith("CORTEX_") or "=" not in s]:
        parser.error(f"--set takes CORTEX_NAME=VALUE, got {bad}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run both stacks, print the table, latency, verdicts and throughput; 0 once completed."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    recall_set = dataset.load()
    if problems := checks.problems(recall_set):
        print("the recall set is not well-formed:\n" + "\n".join(problems), file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="cortex-recall-"))
    try:
        word_hash, model, model_missing = _runs(args, recall_set, workdir)
    except KeyboardInterrupt:
        log(f"interrupted; everything stopped (logs kept in {workdir})")
        return 130
    _print(args, recall_set, word_hash, model, model_missing)
    if args.keep_logs:
        log(f"logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _runs(
    args: argparse.Namespace, recall_set: dataset.RecallSet, workdir: Path
) -> tuple[StackRun, StackRun | None, str]:
    """The word-hash stack, then the model's (one at a time: 2 cores are shared)."""
    extra = dict(s.split("=", 1) for s in args.set)
    kwargs = {"extra": extra, "latency_rounds": args.rounds}
    word_hash = _on(embedders.word_hash(), recall_set, workdir / "word-hash", **kwargs,
                    fusions=False)  # fmt: skip
    if args.no_model:
        return word_hash, None, "skipped (--no-model)"
    found = embedders.real_model(workdir / "model" / "logs")
    if isinstance(found, str):
        log(found)
        return word_hash, None, found
    return word_hash, _on(found, recall_set, workdir / "model", **kwargs, fusions=True), ""


def _on(embedding: embedders.Embedding, recall_set: dataset.RecallSet, workdir: Path, *,
        extra: dict[str, str], latency_rounds: int, fusions: bool) -> StackRun:  # fmt: skip
    try:
        return run_stack(embedding, recall_set, workdir, extra=extra,
                         latency_rounds=latency_rounds, fusions=fusions)  # fmt: skip
    finally:
        embedding.stop()


def _print(
    args: argparse.Namespace, recall_set: dataset.RecallSet,
    word_hash: StackRun, model: StackRun | None, model_missing: str,
) -> None:  # fmt: skip
    runs = [r for r in (word_hash, model) if r]
    print(
        f"set: {len(recall_set.alerts)} alerts, {len(recall_set.chats)} conversations, "
        f"{len(recall_set.questions)} questions; settings added: {args.set or 'none'}"
    )
    for run in runs:
        print(f"  {run.embedder}: {run.loaded[0]} alerts + {run.loaded[1]} chat chunks stored "
              f"{run.load_s:.1f}s after the last post; /v1/search modes: "
              f"{', '.join(run.declared) if run.declared else 'none (dense only)'}; "
              f"embedder settings: {run.settings or 'the defaults'}")  # fmt: skip
        for mode, why in run.missing.items():
            print(f"    mode {mode}: {report.NOT_YET} ({why})")
    if model is None:
        print(f"  real model: {model_missing}")
    table_rows = report.rows(word_hash, model)
    print()
    print(report.table(recall_set, table_rows))
    if args.misses:
        print(report.misses(table_rows))
    print()
    print(report.latency(model or word_hash))
    print()
    print("verdicts (the issue's targets; printed, not asserted):")
    print("\n".join(verdicts.verdicts(word_hash, model)))
    if not args.no_throughput:
        print()
        print(_throughput())


def _throughput() -> str:
    """The embedder's throughput from the model's own benchmark, once that module exists."""
    if importlib.util.find_spec(_THROUGHPUT) is None:
        return f"embedder throughput: {report.NOT_YET} ({_THROUGHPUT} does not exist)"
    log("measuring the embedder's throughput (bench.recall.throughput.measure)")
    output = importlib.import_module(_THROUGHPUT).measure()
    if isinstance(output, list | tuple):
        return "\n".join(map(str, output))
    return str(output)


if __name__ == "__main__":
    sys.exit(main())
