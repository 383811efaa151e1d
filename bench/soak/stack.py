"""cluster-cortex under test (`bench.cortexstack`) on a redis-server with AOF, restartable.

Settings are the README's defaults (the visibility timeout among them) except those in
`cortex_env`, each with the reason it differs.
"""

from pathlib import Path
from typing import Any

import redis

from bench.cortexstack import CortexStack
from bench.soak.params import Params

QUERY_PREFIX = "search_query: "  # CORTEX_EMBED_QUERY_PREFIX's default


def cortex_env(params: Params) -> dict[str, str]:
    """The CORTEX_ settings that differ from the README's defaults, and why."""
    return {
        # A few processes (default 2), so several alert tasks are running or prefetched, i.e.
        # in kombu's unacked hash, whenever Redis goes away.
        "CORTEX_ALERTS_CONCURRENCY": str(params.alert_processes),
        # 5 distinct alerts/s of one alertname is a storm by the default (20 per 60 s): storm
        # digests embed many alerts as one input, so neither each alert's embeddings nor its
        # stored point would be observable one by one.
        "CORTEX_STORM_THRESHOLD": "1000000",
        # The benchmark reads "stored" through /v1/search, a few searches a second at most;
        # the interactive budget (60/min) must not refuse the instrument's own reads.
        "CORTEX_SEARCH_CALLS_PER_MIN": "100000",
    }


class Stack:
    """cluster-cortex's processes on a Redis with AOF, restartable; reads `/v1/stats`."""

    def __init__(self, params: Params, workdir: Path) -> None:
        self._params = params
        self.workdir = workdir
        self._cortex = CortexStack("soak", workdir, persist=True, qdrant_path=workdir / "qdrant")
        self.redis_server = self._cortex.redis
        self.url = self._cortex.url

    @property
    def alerts_url(self) -> str:
        """The gateway's Alertmanager webhook."""
        return self.url + "/v1/alerts/alertmanager"

    def start(self, embed_url: str) -> None:
        """Start Redis, the workers, the controller and the gateway; wait until all are ready."""
        self._cortex.start(embed_url, cortex_env(self._params))

    def redis(self) -> redis.Redis:
        """A new client of the throwaway Redis (the caller closes it)."""
        return redis.Redis.from_url(self.redis_server.url, socket_timeout=5)

    def stats(self) -> dict[str, Any]:
        """The gateway's `/v1/stats`; an empty dict if it does not answer."""
        return self._cortex.stats(timeout_s=3)

    def dead(self) -> list[str]:
        """Components that exited by themselves."""
        return [c.name for c in self._cortex.children if c.proc is not None and not c.running()]

    def logs(self) -> dict[str, Path]:
        """Each component's log file."""
        return {c.name: c.log for c in self._cortex.children}

    def stop(self) -> None:
        """Stop every process (in parallel, SIGKILL after a grace period) and Redis."""
        self._cortex.stop()
