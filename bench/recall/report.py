"""The printed table and the issue's targets as PASS/FAIL lines (printed, never asserted)."""

from collections.abc import Sequence
from dataclasses import dataclass

from bench.recall import metrics
from bench.recall.dataset import KINDS, RecallSet
from bench.recall.embedders import WORD_HASH
from bench.recall.run import Graded, StackRun, percentile

NOT_YET = "n/a (not available yet)"
_LABEL_WIDTH = 42
_CELL_WIDTH = 18


@dataclass(frozen=True)
class Row:
    """One line of the table: a label and its graded questions, None while not available."""

    label: str
    graded: list[Graded] | None


def by_kind(graded: Sequence[Graded]) -> dict[str, metrics.Score]:
    """Mean scores per question kind and over all ("all")."""
    kinds: dict[str, metrics.Score] = {
        kind: metrics.mean([g.score for g in graded if g.question.kind == kind])
        for kind in KINDS
        if any(g.question.kind == kind for g in graded)
    }
    return {**kinds, "all": metrics.mean([g.score for g in graded])}


def _graded(run: StackRun | None, mode: str) -> list[Graded] | None:
    return run.graded.get(mode) if run else None


def rows(word_hash: StackRun, model: StackRun | None) -> list[Row]:
    """The issue's four rows, then word-hash hybrid while the model is missing, or else
    hybrid under each fusion the gateway declares (the default one is the hybrid row)."""
    name = model.embedder if model else "real model"
    # BM25 does not depend on the embedder: without the model, the word-hash stack's will do.
    sparse = _graded(model, "sparse") or _graded(word_hash, "sparse")
    table = [
        Row(f"{WORD_HASH}, dense", _graded(word_hash, "dense")),
        Row(f"{name}, dense", _graded(model, "dense")),
        Row("BM25 only", sparse),
        Row(f"{name}, hybrid", _graded(model, "hybrid")),
    ]
    if model is None and (hybrid := _graded(word_hash, "hybrid")):
        table.append(Row(f"{WORD_HASH}, hybrid", hybrid))
    for fusion, graded in (model.fusions if model else {}).items():
        table.append(Row(f"{name}, hybrid, fusion={fusion}", graded))
    return table


def table(recall_set: RecallSet, table_rows: Sequence[Row]) -> str:
    """Per question kind and overall: recall@1, recall@5 and MRR@10 of each row."""
    counts = {k: sum(q.kind == k for q in recall_set.questions) for k in KINDS}
    heads = [f"{k} ({n})" for k, n in counts.items()] + [f"all ({len(recall_set.questions)})"]
    lines = [
        "recall@1 / recall@5 / MRR@10 per question kind",
        "".ljust(_LABEL_WIDTH) + "".join(h.ljust(_CELL_WIDTH) for h in heads),
    ]
    for row in table_rows:
        if row.graded is None:
            lines.append(row.label.ljust(_LABEL_WIDTH) + NOT_YET)
            continue
        cells = by_kind(row.graded)
        lines.append(row.label.ljust(_LABEL_WIDTH) + "".join(
            f"{s.recall_1:.2f} {s.recall_5:.2f} {s.mrr_10:.2f}".ljust(_CELL_WIDTH)
            for s in cells.values()
        ))  # fmt: skip
    return "\n".join(lines)


def latency(run: StackRun) -> str:
    """Search latency through the gateway at one client."""
    if not run.latencies_s:
        return "search latency: not measured"
    p50, p99 = (percentile(run.latencies_s, p) * 1000 for p in (0.5, 0.99))
    return (
        f"search latency through the gateway, one client, {len(run.latencies_s)} searches as a "
        f"user asks (q only: the default mode and limit; {run.embedder}): "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )


def misses(table_rows: Sequence[Row]) -> str:
    """Per row, the questions not answered at rank 1, with the ranks their items came at."""
    lines = []
    for row in table_rows:
        for g in row.graded or []:
            if g.score.recall_1 < 1.0:
                at = {
                    d: g.ranked.index(d) + 1 if d in g.ranked else "-" for d in g.question.relevant
                }
                ranks = ", ".join(f"{d} at {rank}" for d, rank in at.items())
                lines.append(f"  {row.label}: [{g.question.kind}] {g.question.text!r}: {ranks}; "
                             f"first {g.ranked[0] if g.ranked else '-'}")  # fmt: skip
    return "\n".join(["questions not answered at rank 1 (-: not in the 50 hits):", *lines])
