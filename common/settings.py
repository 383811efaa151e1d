"""Typed settings, one class per process kind, read once from `CORTEX_` variables."""

from functools import lru_cache
from typing import Annotated, TypeVar

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    # One call embeds a whole list serially in Ollama, so the read timeout grows per input.
    embed_connect_timeout_s: PositiveFloat = 3.0
    embed_timeout_base_s: PositiveFloat = 30.0
    embed_timeout_per_input_s: PositiveFloat = 2.0
    # Items per queued message, so one message is one /api/embed call of bounded size.
    embed_batch_size: Annotated[int, Field(gt=0, le=512)] = 32
    # Queued items join a still-queued message up to the batch size and about this size.
    batch_max_bytes: PositiveInt = 1_048_576
    # Chat messages longer than this are embedded as several chunks (nomic-embed-text reads
    # about 2048 tokens; 2000 characters leave room for the title/role header and for code).
    chunk_max_chars: Annotated[int, Field(ge=200)] = 2000
    chunk_overlap_chars: Annotated[int, Field(ge=0)] = 200
    alert_dedup_ttl_s: PositiveInt = 30 * 86400
    chat_dedup_ttl_s: PositiveInt = 180 * 86400

    # Cluster-wide protection of the embedding backend, shared by every replica via Redis.
    slots_cap: PositiveInt = 4
    slots_reserved: PositiveInt = 1
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
    breaker_slow_call_s: PositiveFloat = 20.0
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

    @model_validator(mode="after")
    def _overlap_fits(self) -> "CommonSettings":
        if self.chunk_overlap_chars * 2 >= self.chunk_max_chars:
            raise ValueError(
                "CORTEX_CHUNK_OVERLAP_CHARS must be under half of CORTEX_CHUNK_MAX_CHARS"
            )
        return self


class GatewaySettings(CommonSettings):
    """The gateway's knobs: port, auth, body limits and interactive search bounds."""

    gateway_host: str = "0.0.0.0"
    gateway_port: Annotated[int, Field(gt=0, lt=65536)] = 8080
    webhook_token: str | None = None
    max_body_bytes: PositiveInt = 1_048_576
    max_chat_body_bytes: PositiveInt = 8_388_608
    retry_after_s: PositiveInt = 5
    search_timeout_s: PositiveFloat = 15.0
    search_max_limit: PositiveInt = 50
    search_concurrency: PositiveInt = 2
    # Admission control for bulk chat work: over this many queued + parked chat items
    # (counted as messages x CORTEX_EMBED_BATCH_SIZE), POST /v1/chats answers 429.
    chat_backlog_cap: PositiveInt = 5000
    chat_retry_after_max_s: PositiveInt = 120


class WorkerSettings(CommonSettings):
    """The workers' knobs: concurrency caps, time limits, rate limits and retries per queue."""

    alerts_concurrency: PositiveInt = 2
    chats_concurrency: PositiveInt = 1
    alerts_soft_time_limit_s: PositiveInt = 120
    alerts_time_limit_s: PositiveInt = 150
    chats_soft_time_limit_s: PositiveInt = 300
    chats_time_limit_s: PositiveInt = 360
    store_soft_time_limit_s: PositiveInt = 60
    store_time_limit_s: PositiveInt = 90
    alerts_rate_limit: str = Field(default="30/m", pattern=r"^\d+(/[smh])?$")
    chats_rate_limit: str = Field(default="10/m", pattern=r"^\d+(/[smh])?$")
    max_retries: Annotated[int, Field(ge=0)] = 8
    retry_backoff_max_s: PositiveInt = 600
    # kombu redelivers any unacked message older than this, running or not: keep it far
    # above the longest hard time limit plus a prefetch wait.
    visibility_timeout_s: PositiveInt = 3600

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
