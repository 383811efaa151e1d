"""The embedded model's throughput against a bare onnxruntime session, in the same run.

    .venv/bin/python -m bench.recall.throughput            # about two minutes on 2 cores
    .venv/bin/python -m bench.recall.throughput --rounds 5 --no-http

Texts per second at batch 1 and 32 (texts per call), on 1 and 2 threads, for `MiniLM.embed`
(tokenizing, sorting, padding, inference, pooling, normalising, the lock) and, with --http,
for `/api/embed` of `cortex embedder`'s server on loopback (JSON both ways), each as a ratio
to a bare `InferenceSession` of the same model file given the same calls already tokenized
and padded, one `session.run` per call (only that is timed), with no option set but the
thread count. The embedder runs a call of 32 as sorted groups of `minilm.BATCH`, which is
why it can beat the bare session there. Rounds alternate between the contenders, so a
neighbour's load hits them alike; each keeps its best round. The target (>= 0.9x the bare
session at batch 32) is printed, never asserted.
"""

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import onnxruntime as ort
import requests

from common.embedding import minilm
from common.embedding.minilm import MiniLM
from common.embedding.modelserver import ModelEmbedder

TARGET = 0.9
BATCHES = (1, 32)
THREADS = (1, 2)
_PLACES = ("mail/mailu-front-7d9c5", "media/jellyfin-0", "dns/pihole-0", "storage/minio-2xk4j")
_TEMPLATES = (
    "Alert KubePodCrashLooping (severity critical) at pod={place}\nPod {place} is crash "
    "looping\nLiveness probe failed: command timed out after 5s; restarted {n} times.",
    "Alert NodeFilesystemAlmostOutOfSpace (severity warning) at node=node0{k}\nFilesystem "
    "/var/lib/longhorn on node0{k} has {n}% available space left.",
    "Conversation: why is {place} slow\nuser at 2026-04-1{k}T09:41:00Z:\nSince the upgrade "
    "the pod {place} answers in {n} ms instead of 40; the node is not loaded, the PVC is on "
    "longhorn and the logs show repeated 'context deadline exceeded' from the API server. "
    "What should I look at first, and how did we fix this last time?",
    "Alert KubeJobFailed (severity warning) at job=backup-{k}\nJob backup-{k} failed: "
    "ENOSPC writing to /backup after {n} minutes.",
)
Run = Callable[[], None]


def sample_texts(count: int) -> list[str]:
    """Deterministic homelab alert and chat texts of mixed lengths (about 30 to 90 tokens)."""
    return [
        _TEMPLATES[i % len(_TEMPLATES)].format(place=_PLACES[i % 3], n=7 + 13 * i, k=i % 4 + 1)
        for i in range(count)
    ]


def batches(texts: Sequence[str], size: int) -> list[list[str]]:
    """The texts as consecutive calls of `size`."""
    return [list(texts[i : i + size]) for i in range(0, len(texts), size)]


def bare_run(threads: int, calls: list[list[str]]) -> Run:
    """session.run over pre-tokenized, pre-padded calls of a session with only threads set."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        str(minilm.model_file()), options, providers=["CPUExecutionProvider"]
    )
    tokenizer = minilm.load_tokenizer()
    inputs = [minilm.pad(minilm.encode(tokenizer, call)) for call in calls]

    def run() -> None:
        for batch in inputs:
            session.run(["last_hidden_state"], batch)

    return run


def model_run(model: MiniLM, calls: list[list[str]]) -> Run:
    """The embedded model's whole path, one embed() per call."""

    def run() -> None:
        for call in calls:
            model.embed(call)

    return run


def http_run(url: str, calls: list[list[str]]) -> Run:
    """`/api/embed` of the model's server on loopback, one request per call, kept alive."""
    session = requests.Session()

    def run() -> None:
        for call in calls:
            body = {"model": minilm.NAME, "input": call, "truncate": True}
            session.post(url + "/api/embed", json=body, timeout=120).raise_for_status()

    return run


def best_rates(runs: dict[str, Run], n_texts: int, rounds: int) -> dict[str, float]:
    """Texts/s of each run's best round; the runs alternate within every round."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: n_texts / min(spent) for name, spent in times.items()}


@dataclass(frozen=True)
class Row:
    """One configuration's rates in texts/s."""

    threads: int
    batch: int
    rates: dict[str, float]

    def ratio(self, name: str) -> float:
        """A contender's rate over the bare session's."""
        return self.rates[name] / self.rates["bare"]


def measure_one(threads: int, batch: int, *, texts: list[str], rounds: int, http: bool) -> Row:
    """One threads x batch configuration: bare, embedder and (optionally) its HTTP server."""
    calls = batches(texts, batch)
    model = MiniLM(threads=threads)
    runs = {"bare": bare_run(threads, calls), "embedder": model_run(model, calls)}
    server = ModelEmbedder(model=model) if http else None
    if server is not None:
        server.start()
        runs["http"] = http_run(server.url, calls)
    try:
        for run in runs.values():  # warm-up: first runs allocate
            run()
        return Row(threads, batch, best_rates(runs, len(texts), rounds))
    finally:
        if server is not None:
            server.stop()


def report(rows: list[Row], *, n_texts: int, rounds: int) -> str:
    """The table, and the target's verdict at batch 32."""
    http = "http" in rows[0].rates
    head = "threads  batch    bare/s  embedder/s  ratio" + ("    http/s  ratio" if http else "")
    lines = [
        f"Embedded model throughput: {minilm.NAME}, {n_texts} texts a round, best of {rounds} "
        "rounds; ratio = texts/s over the bare onnxruntime session's (same file, same texts)",
        head,
    ]
    for row in rows:
        line = f"{row.threads:>7}  {row.batch:>5}  {row.rates['bare']:>8.1f}  "
        line += f"{row.rates['embedder']:>10.1f}  {row.ratio('embedder'):>4.2f}x"
        if http:
            line += f"  {row.rates['http']:>8.1f}  {row.ratio('http'):>4.2f}x"
        lines.append(line)
    at_32 = [row.ratio("embedder") for row in rows if row.batch == 32]
    verdict = "met" if min(at_32) >= TARGET else "NOT met"
    lines.append(
        f"target: embedder >= {TARGET:.1f}x the bare session at batch 32: "
        f"min {min(at_32):.2f}x, mean {statistics.fmean(at_32):.2f}x: {verdict}"
    )
    return "\n".join(lines)


def measure(*, rounds: int = 3, n_texts: int = 64, http: bool = True) -> str:
    """Measure every threads x batch configuration and return the printed report."""
    texts = sample_texts(n_texts)
    rows = [
        measure_one(threads, batch, texts=texts, rounds=rounds, http=http)
        for threads in THREADS
        for batch in BATCHES
    ]
    return report(rows, n_texts=n_texts, rounds=rounds)


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.recall.throughput`: print the report; 0 whatever the numbers."""
    parser = argparse.ArgumentParser(prog="python -m bench.recall.throughput")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per contender (best kept)")
    parser.add_argument("--texts", type=int, default=64, help="texts per round (a multiple of 32)")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP server's column")
    args = parser.parse_args(argv)
    print(measure(rounds=args.rounds, n_texts=args.texts, http=not args.no_http))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
