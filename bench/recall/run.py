"""One stack per embedder: start it, load the set, ask every question in every mode, time search.

Modes are what the gateway declares (`mode` on `GET /v1/search` in its OpenAPI document); a
gateway without one searches dense only, and a declared mode it answers 422 is not available.
"""

import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.recall.dataset import Question, RecallSet
from bench.recall.embedders import Embedding
from bench.recall.metrics import Score, score
from bench.recall.search import HITS_ASKED, MODES, ModeRefused, ask, declared, search_modes
from bench.recall.stack import RecallStack, cortex_env

_WARM_UP = 5


@dataclass(frozen=True)
class Graded:
    """One question answered in one mode."""

    question: Question
    ranked: list[str]
    score: Score


@dataclass
class StackRun:
    """What one stack answered: per mode the graded questions, or why the mode is missing."""

    embedder: str
    declared: tuple[str, ...] | None
    graded: dict[str, list[Graded]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    # Hybrid search under each `fusion` the gateway declares, besides its default one.
    fusions: dict[str, list[Graded]] = field(default_factory=dict)
    latencies_s: list[float] = field(default_factory=list)
    loaded: tuple[int, int] = (0, 0)
    load_s: float = 0.0
    settings: dict[str, str] = field(default_factory=dict)


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the report."""
    print(f"[recall {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def run_stack(
    embedding: Embedding, recall_set: RecallSet, workdir: Path, *,
    extra: dict[str, str], latency_rounds: int, fusions: bool,
) -> StackRun:  # fmt: skip
    """Start a stack on this embedder, load the set, grade every mode, time search; stop it."""
    stack = RecallStack("recall-" + re.sub(r"[^A-Za-z0-9-]", "-", embedding.label), workdir)
    try:
        log(f"{embedding.label}: starting the stack")
        stack.start(embedding.url, cortex_env({**embedding.settings, **extra}))
        loaded = stack.load(recall_set)
        log(f"{embedding.label}: posted {loaded[0]} alerts, {loaded[1]} chat chunks; waiting")
        load_s = stack.wait_stored(*loaded)
        result = StackRun(embedding.label, search_modes(stack.openapi()), loaded=loaded)
        result.load_s, result.settings = load_s, embedding.settings
        _grade_modes(stack, recall_set, result)
        if fusions and "hybrid" in result.graded:
            _grade_fusions(stack, recall_set, result, declared(stack.openapi(), "fusion") or ())
        _time_search(stack, recall_set, result, rounds=latency_rounds)
        return result
    finally:
        stack.stop()


def _grade_modes(stack: RecallStack, recall_set: RecallSet, result: StackRun) -> None:
    if result.declared is None:
        result.graded["dense"] = _grade_all(stack, recall_set)
        for mode in MODES[1:]:
            result.missing[mode] = "GET /v1/search takes no `mode`"
        return
    for mode in MODES:
        try:
            result.graded[mode] = _grade_all(stack, recall_set, mode=mode)
        except ModeRefused as refused:
            result.missing[mode] = f"422 for mode={mode}: {refused}"
    log(f"{result.embedder}: graded {sorted(result.graded)}")


def _grade_fusions(
    stack: RecallStack, recall_set: RecallSet, result: StackRun, fusions: tuple[str, ...]
) -> None:
    for fusion in fusions:
        try:
            result.fusions[fusion] = _grade_all(stack, recall_set, mode="hybrid", fusion=fusion)
        except ModeRefused as refused:
            log(f"{result.embedder}: fusion={fusion} refused: {refused}")
    log(f"{result.embedder}: graded hybrid with fusion {sorted(result.fusions)}")


def _grade_all(stack: RecallStack, recall_set: RecallSet, **params: str) -> list[Graded]:
    ids = recall_set.doc_id_of()
    graded = []
    for question in recall_set.questions:
        answer = ask(stack, question.text, ids, limit=HITS_ASKED, **params)
        graded.append(Graded(question, answer.ranked, score(answer.ranked, question.relevant)))
    return graded


def _time_search(
    stack: RecallStack, recall_set: RecallSet, result: StackRun, *, rounds: int
) -> None:
    """One client, one question after another, as a user asks (`q` only), warmed up first."""
    ids = recall_set.doc_id_of()
    texts = [q.text for q in recall_set.questions]
    for text in texts[:_WARM_UP]:
        ask(stack, text, ids)
    result.latencies_s = [ask(stack, t, ids).latency_s for _ in range(rounds) for t in texts]
    log(f"{result.embedder}: timed {len(result.latencies_s)} searches")
