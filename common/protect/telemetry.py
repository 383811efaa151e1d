"""Decision counters and latency histograms kept in Redis, exported to Prometheus at scrape time.

Worker processes come and go (prefork children, replicas); counting in Redis gives one
cluster-wide view that any process with /metrics can export.
"""

from collections.abc import Iterable

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from common import keys
from common.contract import Queue
from common.stats import Snapshot, read_snapshot

LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def count(r: redis.Redis, name: str, amount: int = 1) -> None:
    """Add to a cluster-wide counter (`shed:chat:breaker_open`, `embed_calls:alert`, ...)."""
    r.hincrby(keys.COUNTERS, name, amount)


def observe_call(r: redis.Redis, kind: str, *, seconds: float, inputs: int) -> None:
    """Record one embedding call's latency and batch size in cumulative histogram buckets."""
    with r.pipeline(transaction=False) as pipe:
        for le in LATENCY_BUCKETS_S:
            if seconds <= le:
                pipe.hincrby(keys.LATENCY, f"s:{kind}:{le}", 1)
        for le in BATCH_BUCKETS:
            if inputs <= le:
                pipe.hincrby(keys.LATENCY, f"b:{kind}:{le}", 1)
        pipe.hincrbyfloat(keys.LATENCY, f"s:{kind}:sum", seconds)
        pipe.hincrby(keys.LATENCY, f"s:{kind}:count", 1)
        pipe.hincrby(keys.LATENCY, f"b:{kind}:sum", inputs)
        pipe.execute()


Family = GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily


class RedisCollector(Collector):
    """Exports a Snapshot at every scrape, with the concurrency cap this process computes."""

    def __init__(self, r: redis.Redis, *, slots_cap: int) -> None:
        self._redis = r
        self._slots_cap = slots_cap

    def collect(self) -> Iterable[Family]:
        """Read Redis once; during a Redis outage export nothing rather than fail the scrape."""
        try:
            snap = read_snapshot(self._redis)
        except redis.RedisError:
            return []
        cap = GaugeMetricFamily(
            "cortex_slots_cap", "Most embedding calls at once (the CPU budget's cap)",
            value=self._slots_cap,
        )  # fmt: skip
        return [*_gauges(snap), cap, _stored(snap), _decisions(snap), *_histograms(snap)]


def _gauges(snap: Snapshot) -> list[GaugeMetricFamily]:
    depth = GaugeMetricFamily("cortex_queue_depth", "Messages waiting per queue", labels=["queue"])
    parked = GaugeMetricFamily("cortex_parked", "Messages parked for replay", labels=["queue"])
    for queue in Queue:
        depth.add_metric([queue.value], snap.depth(queue.value))
        parked.add_metric([queue.value], snap.parked(queue.value))
    state = {"closed": 0, "half_open": 1, "open": 2}.get(snap.breaker, 0)
    return [
        depth,
        parked,
        GaugeMetricFamily("cortex_dead_letters", "Dead-lettered tasks", value=snap.dead),
        GaugeMetricFamily("cortex_slots_in_use", "Embedding slots held", value=snap.slots),
        GaugeMetricFamily(
            "cortex_slots_limit", "Adaptive concurrency limit", value=snap.limiter.get("limit", 0)
        ),
        GaugeMetricFamily("cortex_breaker_state", "0 closed, 1 half-open, 2 open", value=state),
        GaugeMetricFamily(
            "cortex_embed_baseline_seconds",
            "Learned embedding latency per input (0: none yet)",
            value=snap.limiter.get("baseline", 0),
        ),
        GaugeMetricFamily(
            "cortex_embed_latency_pressure",
            "Recent latency per input over the baseline",
            value=snap.limiter.get("pressure", 1),
        ),
    ]


def _stored(snap: Snapshot) -> GaugeMetricFamily:
    # A gauge of the store worker's own count: points are overwritten and deleted too, so
    # this is what the memory holds, not a rate of writes.
    stored = GaugeMetricFamily("cortex_points_stored", "Points in the memory", labels=["kind"])
    for kind in ("alert", "chat"):
        stored.add_metric([kind], snap.stored.get(kind, 0))
    return stored


def _decisions(snap: Snapshot) -> CounterMetricFamily:
    family = CounterMetricFamily(
        "cortex_decisions", "Guard decisions and breaker transitions", labels=["decision"]
    )
    for name, value in sorted(snap.counters.items()):
        family.add_metric([name], value)
    return family


def _histograms(snap: Snapshot) -> list[HistogramMetricFamily]:
    raw = snap.latency
    latency = HistogramMetricFamily(
        "cortex_embed_seconds", "Embedding call latency", labels=["kind"]
    )
    batch = HistogramMetricFamily("cortex_embed_batch_size", "Inputs per call", labels=["kind"])
    for kind in ("alert", "chat", "search"):
        total = raw.get(f"s:{kind}:count", 0.0)
        if not total:
            continue
        latency.add_metric(
            [kind],
            [(str(le), raw.get(f"s:{kind}:{le}", 0.0)) for le in LATENCY_BUCKETS_S]
            + [("+Inf", total)],
            sum_value=raw.get(f"s:{kind}:sum", 0.0),
        )
        batch.add_metric(
            [kind],
            [(str(le), raw.get(f"b:{kind}:{le}", 0.0)) for le in BATCH_BUCKETS] + [("+Inf", total)],
            sum_value=raw.get(f"b:{kind}:sum", 0.0),
        )
    return [latency, batch]
