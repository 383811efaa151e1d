"""The issue's targets, one PASS/FAIL line each; "n/a (not available yet)" where nothing to judge.

They are judged on the model's stack; while the model is missing, on the word-hash stack,
and each line says so.
"""

from collections.abc import Sequence

from bench.recall.dataset import KINDS
from bench.recall.report import NOT_YET, by_kind
from bench.recall.run import Graded, StackRun, percentile

RECALL_5_TARGET, MRR_10_TARGET = 0.9, 0.8
P50_TARGET_MS, P99_TARGET_MS = 50.0, 150.0


def _mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def verdicts(word_hash: StackRun, model: StackRun | None) -> list[str]:
    """Every target's line, judged on the model's stack when there is one."""
    run = model or word_hash
    note = "" if model else " [word-hash stack: the model is not available yet]"
    hybrid = run.graded.get("hybrid")
    lines = [*_quality(hybrid), *_per_kind(hybrid, run), *_identifiers(hybrid), *_latency(run)]
    return [line + note for line in lines]


def _quality(hybrid: Sequence[Graded] | None) -> list[str]:
    target = f"hybrid recall@5 >= {RECALL_5_TARGET} and MRR@10 >= {MRR_10_TARGET}"
    if not hybrid:
        return [f"{NOT_YET}: {target}"]
    overall = by_kind(hybrid)["all"]
    ok = overall.recall_5 >= RECALL_5_TARGET and overall.mrr_10 >= MRR_10_TARGET
    return [f"{_mark(ok)} {target} (recall@5 {overall.recall_5:.2f}, MRR@10 {overall.mrr_10:.2f})"]


def _per_kind(hybrid: Sequence[Graded] | None, run: StackRun) -> list[str]:
    dense, sparse = run.graded.get("dense"), run.graded.get("sparse")
    target = "hybrid >= the better of dense and BM25 (recall@5 and MRR@10)"
    if not (hybrid and dense and sparse):
        return [f"{NOT_YET}: {target} on every question kind"]
    mine, theirs = by_kind(hybrid), (by_kind(dense), by_kind(sparse))
    lines = []
    for kind in KINDS:
        best_r5 = max(t[kind].recall_5 for t in theirs)
        best_mrr = max(t[kind].mrr_10 for t in theirs)
        ok = mine[kind].recall_5 >= best_r5 and mine[kind].mrr_10 >= best_mrr
        lines.append(
            f"{_mark(ok)} {target} on {kind}: recall@5 {mine[kind].recall_5:.2f} vs "
            f"{best_r5:.2f}, MRR@10 {mine[kind].mrr_10:.2f} vs {best_mrr:.2f}"
        )
    return lines


def _identifiers(hybrid: Sequence[Graded] | None) -> list[str]:
    target = "pasted identifiers at rank 1 (hybrid)"
    if not hybrid:
        return [f"{NOT_YET}: {target}"]
    pasted = [g for g in hybrid if g.question.kind == "identifier"]
    first = sum(g.score.recall_1 == 1.0 for g in pasted)
    return [f"{_mark(first == len(pasted))} {target}: {first} of {len(pasted)}"]


def _latency(run: StackRun) -> list[str]:
    if not run.latencies_s:
        return [f"{NOT_YET}: search p50 <= {P50_TARGET_MS:.0f} ms, p99 <= {P99_TARGET_MS:.0f} ms"]
    p50, p99 = (percentile(run.latencies_s, p) * 1000 for p in (0.5, 0.99))
    return [
        f"{_mark(p50 <= P50_TARGET_MS)} search p50 <= {P50_TARGET_MS:.0f} ms ({p50:.1f} ms)",
        f"{_mark(p99 <= P99_TARGET_MS)} search p99 <= {P99_TARGET_MS:.0f} ms ({p99:.1f} ms)",
    ]
