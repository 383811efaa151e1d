"""Typed settings, one class per process kind, read once from `CORTEX_` variables."""

from functools import lru_cache
from typing import Annotated, TypeVar

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.points import Fusion
from common.sparse import DEFAULT_AVG_LEN

PositiveFloat = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]


class CommonSettings(BaseSettings):
    """What every process needs: where Redis, Ollama and Qdrant are, and the model."""

    model_config = SettingsConfigDict(env_prefix="CORTEX_", extra="ignore", frozen=True)

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout_s: PositiveFloat = 2.0
    qdrant_url: str | None = None
    qdrant_path: str = "./.cortex/qdrant"
    qdrant_api_key: str | None = None
    qdrant_timeout_s: PositiveFloat = 10.0
    collection: str = Field(default="cortex", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    ollama_url: str = "http://127.0.0.1:11434"
    embed_model: str = "nomic-embed-text"
    embed_dim: PositiveInt = 768
    embed_doc_prefix: str = "search_document: "
    embed_query_prefix: str = "search_query: "
    # One call embeds a whole list serially in Ollama, so the read timeout grows per input:
    # `embed_timeout_ratio` x the learned per-input latency, at least the absolute floor
    # (base + per input), at most the max (also the timeout while nothing has been learned).
    embed_connect_timeout_s: PositiveFloat = 3.0
    embed_timeout_base_s: PositiveFloat = 30.0
    embed_timeout_per_input_s: PositiveFloat = 2.0
    embed_timeout_ratio: Annotated[float, Field(gt=1)] = 10.0
    embed_timeout_max_s: PositiveFloat = 600.0
    # The CPU cap the client enforces: every call asks Ollama for this many threads
    # (`options.num_thread`; one steady value, since other options reload the model), and
    # calls in flight x threads per call stay within the cores budgeted for embedding.
    embed_num_thread: Annotated[int, Field(ge=1, le=256)] = 4
    embed_cpu_budget: PositiveFloat = 8.0
    # Items per queued message at most; a call embeds as many as fit the target duration on
    # the learned per-input latency (1 while nothing is learned), so a slot is never held
    # for minutes on a slow backend.
    embed_batch_size: Annotated[int, Field(gt=0, le=512)] = 32
    embed_call_target_s: PositiveFloat = 10.0
    # Queued items join a still-queued message up to the batch size and about this size.
    batch_max_bytes: PositiveInt = 1_048_576
    # Chat messages longer than this are embedded as several chunks (nomic-embed-text reads
    # about 2048 tokens; 2000 characters leave room for the title/role header and for code).
    chunk_max_chars: Annotated[int, Field(ge=200)] = 2000
    chunk_overlap_chars: Annotated[int, Field(ge=0)] = 200
    alert_dedup_ttl_s: PositiveInt = 30 * 86400
    chat_dedup_ttl_s: PositiveInt = 180 * 86400
    # BM25's average document length in tokens (common.sparse): fixed, not measured, so a
    # point's sparse vector never depends on what else is stored. A change applies to new
    # points; `cortex reindex --force` recomputes the stored ones.
    bm25_avg_len: PositiveFloat = DEFAULT_AVG_LEN

    # Cluster-wide protection of the embedding backend, shared by every replica via Redis.
    slots_cap: PositiveInt = 4
    slots_reserved: PositiveInt = 1
    # Chats may borrow the reserved slots while no alert or search waits, for calls this
    # long at most: an alert arriving meanwhile waits for one such call, not a whole batch.
    slots_borrow_target_s: PositiveFloat = 2.0
    slot_wait_s: Annotated[float, Field(ge=0)] = 20.0
    alert_calls_per_min: PositiveInt = 120
    alert_inputs_per_min: PositiveInt = 2000
    chat_calls_per_min: PositiveInt = 30
    chat_inputs_per_min: PositiveInt = 600
    search_calls_per_min: PositiveInt = 60
    adaptive_increase_below: Annotated[float, Field(gt=1)] = 1.5
    adaptive_decrease_above: Annotated[float, Field(gt=1)] = 2.5
    adaptive_decrease_factor: Annotated[float, Field(gt=0, lt=1)] = 0.9
    breaker_window_s: PositiveInt = 60
    breaker_min_calls: PositiveInt = 5
    breaker_failure_rate: Annotated[float, Field(gt=0, le=1)] = 0.5
    breaker_slow_rate: Annotated[float, Field(gt=0, le=1)] = 0.5
    # A call is slow when its per-input latency is this many times the learned baseline:
    # a steady backend is healthy however slow it is, one slowing down is not.
    breaker_slow_call_ratio: Annotated[float, Field(gt=1)] = 4.0
    breaker_open_s: PositiveInt = 30
    breaker_half_open_probes: PositiveInt = 2
    # Chats pause while per-input latency is this many times its baseline (brownout).
    brownout_latency_ratio: Annotated[float, Field(gt=1)] = 2.0
    brownout_hold_s: PositiveFloat = 30.0
    # Per-input latencies below this are treated as equal: no pressure signal in noise.
    adaptive_latency_floor_s: PositiveFloat = 0.05
    # The controller moves parked work back while a queue holds fewer than this many messages.
    # Feedback-loop guard: while an alert says the embedding node is under pressure, bulk
    # chat work waits. Matched by alertname (regex) and, when set, the node/instance label.
    pressure_alertnames: str = (
        "NodeHighLoad|NodeLoadHigh|NodeCPUHighUsage|CPUThrottlingHigh|KubeNodePressure"
        "|NodeMemoryPressure|KubeNodeNotReady"
    )
    embed_node: str = ""
    # Storms and cluster-cortex's own alerts are coalesced: one digest document per window.
    storm_threshold: PositiveInt = 20
    storm_window_s: PositiveInt = 60
    digest_max_members: Annotated[int, Field(gt=0, le=1000)] = 200
    self_namespace: str = "cluster-cortex"
    pressure_alert_ttl_s: PositiveInt = 6 * 3600
    # After the last pressure alert resolves, chats stay paused this long: resuming the
    # moment it resolves re-creates the pressure one group interval later (flip-flop).
    pressure_cooldown_s: Annotated[float, Field(ge=0)] = 60.0
    # Without calls to observe, a shrunken slot limit regains one slot per this period.
    adaptive_recover_s: PositiveFloat = 30.0
    replay_low_water: PositiveInt = 4
    replay_batch: PositiveInt = 4
    controller_interval_s: PositiveFloat = 2.0

    @property
    def concurrency_cap(self) -> int:
        """Embedding calls at once: CORTEX_SLOTS_CAP, or fewer where the CPU budget says so."""
        return max(1, min(self.slots_cap, int(self.embed_cpu_budget // self.embed_num_thread)))

    @model_validator(mode="after")
    def _overlap_fits(self) -> "CommonSettings":
        if self.chunk_overlap_chars * 2 >= self.chunk_max_chars:
            raise ValueError(
                "CORTEX_CHUNK_OVERLAP_CHARS must be under half of CORTEX_CHUNK_MAX_CHARS"
            )
        if self.embed_num_thread > self.embed_cpu_budget:
            raise ValueError(
                "CORTEX_EMBED_NUM_THREAD must not exceed CORTEX_EMBED_CPU_BUDGET: "
                "one call would use more cores than embedding may"
            )
        return self


class GatewaySettings(CommonSettings):
    """The gateway's knobs: port, auth, body limits and interactive search bounds."""

    gateway_host: str = "0.0.0.0"
    gateway_port: Annotated[int, Field(gt=0, lt=65536)] = 8080
    webhook_token: str | None = None
    # Reading the memory (search, recall, history, conversations, /mcp) needs this bearer
    # token when set; the webhook token stays the writers'.
    read_token: str | None = None
    # Host names /mcp answers to, on any port (the MCP transport's DNS-rebinding check): the
    # Service's names, compose's service name, loopback. "*" turns the check off, e.g.
    # behind an ingress that already pins the host.
    mcp_allowed_hosts: str = (
        "localhost,127.0.0.1,[::1],gateway,cortex-gateway,cortex-gateway.cluster-cortex,"
        "cortex-gateway.cluster-cortex.svc,cortex-gateway.cluster-cortex.svc.cluster.local"
    )
    max_body_bytes: PositiveInt = 1_048_576
    max_chat_body_bytes: PositiveInt = 8_388_608
    retry_after_s: PositiveInt = 5
    search_timeout_s: PositiveFloat = 15.0
    search_max_limit: PositiveInt = 50
    search_concurrency: PositiveInt = 2
    # How hybrid search fuses dense and BM25 results when a request names no `fusion`
    # (workers/qdrant/query.py): "boost" ranks as the embedding does, with points holding an
    # identifier the question pastes first; "rerank", "rrf" and "dbsf" for comparison.
    search_fusion: Fusion = "boost"
    # Admission control for bulk chat work: over this many queued + parked chat items
    # (counted as messages x CORTEX_EMBED_BATCH_SIZE), POST /v1/chats answers 429.
    chat_backlog_cap: PositiveInt = 5000
    chat_retry_after_max_s: PositiveInt = 120


class WorkerSettings(CommonSettings):
    """The workers' knobs: concurrency caps, time limits, rate limits and retries per queue."""

    # Worker processes per kind; by default one more than the calls it may have in flight
    # (the concurrency cap), so a spare process is already waiting when a call ends.
    alerts_concurrency: PositiveInt | None = None
    chats_concurrency: PositiveInt | None = None
    alerts_soft_time_limit_s: PositiveInt = 120
    alerts_time_limit_s: PositiveInt = 150
    chats_soft_time_limit_s: PositiveInt = 300
    chats_time_limit_s: PositiveInt = 360
    store_soft_time_limit_s: PositiveInt = 60
    store_time_limit_s: PositiveInt = 90
    alerts_rate_limit: str = Field(default="30/m", pattern=r"^\d+(/[smh])?$")
    chats_rate_limit: str = Field(default="30/m", pattern=r"^\d+(/[smh])?$")
    max_retries: Annotated[int, Field(ge=0)] = 8
    retry_backoff_max_s: PositiveInt = 600
    # kombu redelivers any unacked message older than this, running or not: keep it far
    # above the longest hard time limit plus a prefetch wait. Held messages of a worker that
    # died or lost Redis come back much sooner: the controller restores what no lease holds.
    visibility_timeout_s: PositiveInt = 3600
    # Vectors computed but not yet handed to the store (Redis down, a call shed mid-batch)
    # are kept here, so the retry reads them instead of embedding again. Node-local.
    spool_dir: str = "./.cortex/spool"
    spool_max_mb: PositiveInt = 256
    spool_ttl_s: PositiveInt = 6 * 3600

    def processes(self, queue: str) -> int:
        """Worker processes for a queue: for embedding, the setting or the cap + 1; else 1."""
        if queue == "alerts":
            return self.alerts_concurrency or self.concurrency_cap + 1
        if queue == "chats":
            return self.chats_concurrency or self.concurrency_cap + 1
        return 1

    @model_validator(mode="after")
    def _limits_nest(self) -> "WorkerSettings":
        for kind in ("alerts", "chats", "store"):
            soft, hard = (
                getattr(self, f"{kind}_soft_time_limit_s"),
                getattr(self, f"{kind}_time_limit_s"),
            )
            if soft >= hard:
                raise ValueError(
                    f"CORTEX_{kind.upper()}_SOFT_TIME_LIMIT_S must be below the hard limit"
                )
            if hard >= self.visibility_timeout_s:
                raise ValueError(
                    f"CORTEX_{kind.upper()}_TIME_LIMIT_S must be below "
                    "CORTEX_VISIBILITY_TIMEOUT_S, or kombu redelivers tasks still running"
                )
        return self


class CliSettings(CommonSettings):
    """What the CLI needs beyond the common settings: where the gateway and Flower are."""

    gateway_url: str = "http://127.0.0.1:8080"
    gateway_port: Annotated[int, Field(gt=0, lt=65536)] = 8080
    flower_port: Annotated[int, Field(gt=0, lt=65536)] = 5555
    webhook_token: str | None = None
    # Sent as the bearer token by the commands that read the memory (search, recall).
    read_token: str | None = None
    # Cores the embedded model (`cortex embedder`) may use: it runs on the node it serves.
    embedder_threads: Annotated[int, Field(ge=1, le=64)] = 2


S = TypeVar("S", bound=CommonSettings)


class SettingsError(SystemExit):
    """Start-up failure naming each invalid CORTEX_ variable."""


def _describe(loc: tuple[int | str, ...], msg: str) -> str:
    # Cross-field checks have no location: their message names the variables itself.
    return f"  CORTEX_{str(loc[0]).upper()}: {msg}" if loc else f"  {msg}"


def load(cls: type[S]) -> S:
    """Build settings from the environment, or exit with a message naming the variables."""
    try:
        return cls()
    except ValidationError as exc:
        lines = [_describe(err["loc"], err["msg"]) for err in exc.errors()]
        raise SettingsError("invalid configuration:\n" + "\n".join(lines)) from None


@lru_cache(maxsize=1)
def get_gateway_settings() -> GatewaySettings:
    """The gateway's settings, read once."""
    return load(GatewaySettings)


@lru_cache(maxsize=1)
def get_worker_settings() -> WorkerSettings:
    """The workers' settings, read once."""
    return load(WorkerSettings)


@lru_cache(maxsize=1)
def get_cli_settings() -> CliSettings:
    """The CLI's settings, read once."""
    return load(CliSettings)
