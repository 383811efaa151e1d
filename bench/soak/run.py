"""One soak run: traffic on, Redis restarted `restarts` times, then wait for every 202 to land."""

import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.soak import leftovers
from bench.soak.embedder import SoakEmbedder
from bench.soak.observer import Found, Observer, Sample, SearchLog
from bench.soak.params import Params
from bench.soak.stack import QUERY_PREFIX, Stack
from bench.soak.traffic import Catalog, Delivery, Sender
from common import keys


def log(message: str) -> None:
    """Progress to stderr, so stdout holds only the report."""
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Outage:
    """One Redis restart (monotonic seconds) and what the workers held when it went down."""

    down_at: float
    up_at: float
    unacked: int  # kombu's unacked hash: prefetched or running tasks
    embedding: int  # document calls in the embedder at that moment


@dataclass
class Result:
    """Everything the report needs, gathered after the traffic stopped."""

    params: Params
    outages: list[Outage]
    deliveries: list[Delivery]
    found: dict[int, Found]
    embedded: dict[int, int]
    samples: list[Sample]
    searches: SearchLog
    left: leftovers.Leftovers
    dead: list[str] = field(default_factory=list)
    logs: dict[str, Path] = field(default_factory=dict)


def run(params: Params, workdir: Path) -> Result:
    """Start everything, run the restarts, wait for the stores, stop everything."""
    embedder = SoakEmbedder(
        delay_s=params.embed_delay_s, seed=params.seed, query_prefix=QUERY_PREFIX
    )
    embedder.start()
    stack = Stack(params, workdir)
    try:
        log("soak: starting redis, workers, controller and gateway")
        stack.start(embedder.url)
        return _drive(params, stack, embedder)
    finally:
        stack.stop()
        embedder.stop()


def _drive(params: Params, stack: Stack, embedder: SoakEmbedder) -> Result:
    catalog = Catalog(params.seed)
    sender = Sender(stack.alerts_url, catalog, params)
    observer = Observer(stack, sender, catalog)
    sender.start()
    observer.start()
    try:
        outages = _restarts(params, stack, embedder)
        log(f"soak: traffic for {params.tail_s:.0f}s more, then waiting for the stores")
        time.sleep(params.tail_s)
        sender.stop()
        last_up = outages[-1].up_at if outages else time.monotonic()
        _wait_for_stores(params, observer, sender, last_up)
    finally:
        sender.stop(drain_s=0)
        observer.stop()
    observer.sweep(every_group=True)
    return _result(params, stack, sender, observer, embedder, outages)


def _restarts(params: Params, stack: Stack, embedder: SoakEmbedder) -> list[Outage]:
    rng = random.Random(params.seed)
    outages = []
    for n in range(params.restarts):
        time.sleep(params.warmup_s if n == 0 else params.pause_s)
        down_s = rng.uniform(*params.down_s)
        unacked = _unacked(stack)
        embedding = embedder.documents_in_flight()
        down_at = time.monotonic()
        stack.redis_server.restart(down_s=down_s)
        outages.append(Outage(down_at, time.monotonic(), unacked, embedding))
        log(
            f"soak: restart {n + 1}/{params.restarts}: down {time.monotonic() - down_at:.1f}s,"
            f" held {unacked} unacked, {embedding} embedding"
        )
    return outages


def _unacked(stack: Stack) -> int:
    r = stack.redis()
    try:
        return int(r.hlen(keys.KOMBU_UNACKED))
    finally:
        r.close()


def _wait_for_stores(params: Params, observer: Observer, sender: Sender, last_up: float) -> None:
    """Until every alert answered 202 is found, or the window after the last restart is over.

    Alerts answered after the last restart get the same window from their own answer.
    """
    while True:
        missing = observer.sweep()
        if not missing:
            log("soak: every alert answered 202 is stored")
            return
        accepted = {d.seq: d.accepted_at or 0.0 for d in sender.deliveries()}
        deadline = max(last_up, *(accepted[seq] for seq in missing))
        if time.monotonic() > deadline + params.window_s + 5:
            log(f"soak: {len(missing)} alerts answered 202 still not stored")
            return
        time.sleep(1.0)


def _result(
    params: Params,
    stack: Stack,
    sender: Sender,
    observer: Observer,
    embedder: SoakEmbedder,
    outages: list[Outage],
) -> Result:
    r = stack.redis()
    try:
        left = leftovers.scan(r)
    finally:
        r.close()
    return Result(
        params=params,
        outages=outages,
        deliveries=sender.deliveries(),
        found=observer.found(),
        embedded=dict(embedder.embedded()),
        samples=list(observer.samples),
        searches=observer.searches,
        left=left,
        dead=stack.dead(),
        logs=stack.logs(),
    )
