"""cluster-cortex as the receiver under test: its real processes (`bench.cortexstack`).

All pointed at the simulated node. Settings are the README's defaults except those listed in
`cortex_env`, each with the reason it differs.
"""

from pathlib import Path
from typing import Any

from bench.cortexstack import CortexStack
from bench.spiral.params import COMPRESSION, Params
from bench.spiral.prometheus import NODE
from bench.spiral.receiver import Stored
from common.settings import CliSettings, GatewaySettings, WorkerSettings

# Per-minute budgets (README defaults) in compressed time: a simulated minute is one second.
_BUDGETS = {
    "ALERT_CALLS": 120, "ALERT_INPUTS": 2000, "CHAT_CALLS": 30, "CHAT_INPUTS": 600,
    "SEARCH_CALLS": 60,
}  # fmt: skip


def cortex_env(params: Params) -> dict[str, str]:
    """The CORTEX_ settings that differ from the README's defaults, and why.

    Only settings this tree knows are returned (`ignored_settings` lists the others), so the
    report never shows a setting that took no effect.
    """
    return {k: v for k, v in _wanted(params).items() if _known(k)}


def ignored_settings(params: Params) -> list[str]:
    """Settings the bench would set that this tree's settings classes do not have."""
    return [k for k in _wanted(params) if not _known(k)]


def _wanted(params: Params) -> dict[str, str]:
    env = {
        # Cheap vectors; the collection is created with this dimension.
        "CORTEX_EMBED_DIM": str(params.embed_dim),
        # The simulated NodeHighLoad alert carries node=node02: it pauses chats.
        "CORTEX_EMBED_NODE": NODE,
        # Celery's per-worker rate_limit drains a backlog at about one task a second whatever
        # the rate: in compressed time that distortion would dominate. The cluster-wide
        # budgets below are the real limit.
        "CORTEX_ALERTS_RATE_LIMIT": "0",
        "CORTEX_CHATS_RATE_LIMIT": "0",
        **{f"CORTEX_{k}_PER_MIN": str(v * COMPRESSION) for k, v in _BUDGETS.items()},
        # Breaker window and open period in compressed time (defaults 60 s and 30 s).
        "CORTEX_BREAKER_WINDOW_S": "20",
        "CORTEX_BREAKER_OPEN_S": "5",
        # The controller's tick (default 2 s, two minutes here) paces replay after a pause.
        "CORTEX_CONTROLLER_INTERVAL_S": "0.5",
        # Alert-storm digests per window of one group interval (default 60 s, an hour here).
        "CORTEX_STORM_WINDOW_S": f"{params.group_interval_s:.0f}",
        # Chats stay paused a while after the pressure alert resolves: the default minute.
        "CORTEX_PRESSURE_COOLDOWN_S": f"{60 / COMPRESSION:g}",
        # A shrunken slot limit regains a slot after 30 s without calls; 0.5 s here.
        "CORTEX_ADAPTIVE_RECOVER_S": "0.5",
        # What a deployment on this node sets: every call asks for the manifests' 4 threads,
        # and calls at once x threads stay within the cores the other work leaves free.
        "CORTEX_EMBED_NUM_THREAD": str(params.embed_num_thread),
        "CORTEX_EMBED_CPU_BUDGET": f"{params.free_cores:g}",
        # Durations compared with the node's call times, which are compressed (an input of
        # the seed's 24 s takes 0.4 s): the README's defaults in compressed time, so a
        # batch aims at 10 s / 60 like a real one aims at 10 s of a real node.
        **{_var(name): _compressed(name) for name in _COMPRESSED if _known(_var(name))},
    }
    # The bench's original choices for the "today" column; 0 leaves the README's default.
    if params.slots_cap:
        env["CORTEX_SLOTS_CAP"] = str(params.slots_cap)
    if params.embed_batch_size:
        env["CORTEX_EMBED_BATCH_SIZE"] = str(params.embed_batch_size)
    if params.breaker_slow_call_s:
        # A call this slow counts as slow: 5x a full batch's time on an idle node.
        env["CORTEX_BREAKER_SLOW_CALL_S"] = str(params.breaker_slow_call_s)
    return env


# Real-time durations (README defaults) that are set in compressed time.
_COMPRESSED = (
    "embed_call_target_s", "slots_borrow_target_s", "embed_timeout_base_s",
    "embed_timeout_per_input_s", "embed_timeout_max_s",
)  # fmt: skip
_FIELDS = {
    name: info for cls in (GatewaySettings, WorkerSettings, CliSettings)
    for name, info in cls.model_fields.items()
}  # fmt: skip


def _var(name: str) -> str:
    return f"CORTEX_{name.upper()}"


def _known(var: str) -> bool:
    return var.removeprefix("CORTEX_").lower() in _FIELDS


def _compressed(name: str) -> str:
    return f"{float(_FIELDS[name].default) / COMPRESSION:.4g}"


class CortexReceiver:
    """Starts and stops the stack; reads `/v1/stats` for what is stored."""

    name = "cluster-cortex"

    def __init__(self, params: Params, workdir: Path) -> None:
        self._params = params
        self._cortex = CortexStack("spiral", workdir, persist=False, qdrant_path=workdir / "qdrant")
        self.gateway_url = self._cortex.url
        self._last_stats: dict[str, Any] = {}

    @property
    def alerts_url(self) -> str:
        """The gateway's Alertmanager webhook."""
        return self.gateway_url + "/v1/alerts/alertmanager"

    @property
    def chats_url(self) -> str:
        """The gateway's chat intake."""
        return self.gateway_url + "/v1/chats"

    def start(self, embed_url: str) -> None:
        """Start Redis, the workers, the controller and the gateway; wait until all are ready."""
        self._cortex.start(embed_url, cortex_env(self._params))

    def stats(self) -> dict[str, Any]:
        """The gateway's `/v1/stats` (the last good one if the gateway does not answer)."""
        self._last_stats = self._cortex.stats() or self._last_stats
        return self._last_stats

    def stored(self) -> Stored:
        """Stored points per kind, as the store worker counts them."""
        stored = self.stats().get("stored", {})
        return Stored(alerts=stored.get("alert", 0), chats=stored.get("chat", 0))

    def decisions(self) -> dict[str, float]:
        """The guard's decision and breaker counters at the end."""
        return dict(self.stats().get("decisions", {}))

    def details(self) -> dict[str, str]:
        """Queues, parked work, dead letters, breaker and the guard's decisions at the end."""
        s = self.stats()
        decisions = s.get("decisions", {})
        return {
            "queued at end (alerts/chats/store)": "/".join(
                str(s["queues"][q]["depth"]) for q in ("alerts", "chats", "store")
            ),
            "in flight (unacked) at end": str(s["in_flight"]),
            "parked at end / dead letters": f"{s['parked']} / {s['dead_letters']}",
            "breaker at end (transitions)": f"{s['breaker']} ({_sum(decisions, 'breaker:'):.0f})",
            "slot limit at end / cap": f"{s['concurrency']['limit']} / {s['concurrency']['cap']}",
            "chat calls shed, by reason": _by_reason(decisions, "shed:chat:"),
            "alert calls shed, by reason": _by_reason(decisions, "shed:alert:"),
            "alerts coalesced into digests": f"{_sum(decisions, 'digest:'):.0f}",
            "embed calls ok/slow/failed": "/".join(
                f"{_sum(decisions, f'embed_calls:alert:{o}', f'embed_calls:chat:{o}'):.0f}"
                for o in ("ok", "slow", "failed")
            ),
        }

    def stop(self) -> None:
        """Stop every process (in parallel, SIGKILL after a grace period) and Redis."""
        self._cortex.stop()

    def logs(self) -> str:
        """Every process's log tail, for a failed run."""
        return self._cortex.tails(20)


def _sum(decisions: dict[str, float], *prefixes: str) -> float:
    return sum(v for k, v in decisions.items() if k.startswith(prefixes))


def _by_reason(decisions: dict[str, float], prefix: str) -> str:
    parts = [f"{k[len(prefix):]} {int(v)}" for k, v in sorted(decisions.items())
             if k.startswith(prefix)]  # fmt: skip
    return ", ".join(parts) or "none"


def call_target_s() -> float:
    """The call duration cluster-cortex aims at, in compressed time (its README default)."""
    name = "embed_call_target_s"
    return float(_FIELDS[name].default) / COMPRESSION if name in _FIELDS else 10.0 / COMPRESSION
