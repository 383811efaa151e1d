"""The baseline: the embedder's own best throughput, measured directly with optimal batches.

As many client threads as the concurrency cap (the slots alerts may use, and chats too by
borrowing the reserved ones) send batches of one size straight to `/api/embed`, back to back,
for a fixed time; inputs embedded over the time the calls took is the backend's throughput at
that batch size. No Redis, no Celery, no Qdrant.
"""

import threading
import time
from dataclasses import dataclass

import requests

from bench.pipeline.meter import MeteredEmbedder
from bench.pipeline.params import Params
from bench.pipeline.traffic import sample_texts

MODEL = "nomic-embed-text"


@dataclass(frozen=True)
class Direct:
    """One batch size measured directly."""

    batch_size: int
    concurrency: int
    calls: int
    inputs: int
    seconds: float
    peak_in_flight: int

    @property
    def inputs_per_s(self) -> float:
        """Inputs embedded per second of wall time."""
        return self.inputs / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class CostModel:
    """Seconds one call costs as measured directly: a fixed part plus a part per input."""

    per_call_s: float
    per_input_s: float

    def seconds(self, *, calls: int, inputs: int) -> float:
        """What `calls` calls carrying `inputs` inputs in all cost the backend, back to back."""
        return calls * self.per_call_s + inputs * self.per_input_s


def fit(results: list[Direct]) -> CostModel:
    """Least squares of seconds per call against batch size over the sweep."""
    points = [(r.batch_size, r.seconds * r.concurrency / r.calls) for r in results if r.calls]
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / var if var else 0.0
    return CostModel(per_call_s=mean_y - slope * mean_x, per_input_s=slope)


def batch_sizes(params: Params) -> list[int]:
    """Single inputs, a small batch, and the configured (optimal) batch size."""
    return sorted({1, min(8, params.embed_batch_size), params.embed_batch_size})


def measure(
    embedder: MeteredEmbedder, *, batch_size: int, concurrency: int, duration_s: float
) -> Direct:
    """`concurrency` threads sending `batch_size`-input calls until `duration_s` has passed."""
    texts = sample_texts(batch_size, seed=batch_size)
    body = {"model": MODEL, "input": texts, "truncate": True}
    embedder.reset_stats()
    mark = embedder.mark()
    started = time.monotonic()
    deadline = started + duration_s
    errors: list[BaseException] = []

    def client() -> None:
        try:
            with requests.Session() as session:
                while time.monotonic() < deadline:
                    response = session.post(embedder.url + "/api/embed", json=body, timeout=60)
                    response.raise_for_status()
        except requests.RequestException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"direct call to the embedder failed: {errors[0]!r}")
    calls = embedder.calls(mark)
    ended = max((c.ended for c in calls), default=started)
    return Direct(
        batch_size=batch_size,
        concurrency=concurrency,
        calls=len(calls),
        inputs=sum(c.inputs for c in calls),
        seconds=ended - started,
        peak_in_flight=embedder.stats()["peak_in_flight"],
    )


def sweep(embedder: MeteredEmbedder, params: Params) -> list[Direct]:
    """Every batch size of `batch_sizes` from as many threads as the cap."""
    return [
        measure(embedder, batch_size=size, concurrency=params.slots_cap, duration_s=params.direct_s)
        for size in batch_sizes(params)
    ]


def best(results: list[Direct], params: Params) -> Direct:
    """The measurement at the configured batch size."""
    return next(r for r in results if r.batch_size == params.embed_batch_size)
