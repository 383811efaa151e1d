"""cluster-cortex under test (`bench.cortexstack`), with Qdrant's local mode on tmpfs.

Settings are the README's defaults except those in `cortex_env`, each with the reason it
differs.
"""

import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.cortexstack import CortexStack
from bench.pipeline.params import Params
from common.settings import CommonSettings

# Per-minute budgets far above anything this benchmark can push through the embedder.
_BUDGET_PER_MIN = 100_000
_TMPFS = Path("/dev/shm")
_NUM_THREAD: int = CommonSettings.model_fields["embed_num_thread"].default


def cortex_env(params: Params) -> dict[str, str]:
    """The CORTEX_ settings this benchmark sets (most differ from the README), and why."""
    return {
        # Cheap vectors: the embedder's cost is the configured delay, not vector arithmetic.
        "CORTEX_EMBED_DIM": str(params.embed_dim),
        "CORTEX_SLOTS_CAP": str(params.slots_cap),
        # The cap is min(CORTEX_SLOTS_CAP, budget / threads per call); the dev embedder's cost
        # does not depend on threads, so the budget is what makes slots_cap the cap (at the
        # default slots_cap=2 it is the README's 8).
        "CORTEX_EMBED_CPU_BUDGET": str(params.slots_cap * _NUM_THREAD),
        # Stated even at its default: it decides when chats may borrow in the mixed scenario.
        "CORTEX_SLOTS_RESERVED": str(params.slots_reserved),
        "CORTEX_EMBED_BATCH_SIZE": str(params.embed_batch_size),
        # Celery's per-worker rate_limit drains a backlog at about one task a second; the
        # cluster-wide budgets are the real limits, and here they must not bind either.
        "CORTEX_ALERTS_RATE_LIMIT": "0",
        "CORTEX_CHATS_RATE_LIMIT": "0",
        **{
            f"CORTEX_{k}_PER_MIN": str(_BUDGET_PER_MIN)
            for k in ("ALERT_CALLS", "ALERT_INPUTS", "CHAT_CALLS", "CHAT_INPUTS", "SEARCH_CALLS")
        },
        # Admission control must not refuse chat batches either: a refused client waits up to
        # CORTEX_CHAT_RETRY_AFTER_MAX_S, which would measure the wait, not the pipeline.
        "CORTEX_CHAT_BACKLOG_CAP": "1000000",
        # Latency jitter on a loaded machine must not park chats: this measures throughput.
        "CORTEX_BROWNOUT_LATENCY_RATIO": "1000",
        # Every alert embedded as itself: a storm digest would embed many alerts in one input.
        "CORTEX_STORM_THRESHOLD": "100000",
        "CORTEX_CONTROLLER_INTERVAL_S": "0.5",
        # cluster-cortex's default (the cap + 1, chats borrowing up to the cap too) unless
        # --set; stated so that the report shows what ran. The spare process is already
        # waiting for a slot when a call ends, so no slot idles while a task is fetched.
        # CORTEX_EMBED_CALL_TARGET_S and CORTEX_SLOTS_BORROW_TARGET_S stay at their defaults:
        # params refuses a cost at which either would cut calls below the batch size.
        "CORTEX_ALERTS_CONCURRENCY": str(params.alerts_processes),
        "CORTEX_CHATS_CONCURRENCY": str(params.chats_processes),
    }


class Stack:
    """Starts and stops the processes; reads `/v1/stats`."""

    def __init__(self, params: Params, workdir: Path) -> None:
        self._params = params
        self.qdrant_path = workdir / "qdrant"
        if params.qdrant_tmpfs and _TMPFS.is_dir():
            self.qdrant_path = Path(tempfile.mkdtemp(prefix="cortex-pipeline-", dir=_TMPFS))
        self._cortex = CortexStack("pipeline", workdir, persist=False, qdrant_path=self.qdrant_path)
        self.url = self._cortex.url

    def start(self, embed_url: str) -> None:
        """Start Redis, the workers, the controller and the gateway; wait until all are ready."""
        self._cortex.start(embed_url, cortex_env(self._params))
        cap = self.stats().get("concurrency", {}).get("cap")
        if cap != self._params.slots_cap:
            raise RuntimeError(f"cluster-cortex runs with cap {cap}, not {self._params.slots_cap}")

    def stats(self) -> dict[str, Any]:
        """The gateway's `/v1/stats`; an empty dict if it does not answer."""
        return self._cortex.stats()

    def pids(self) -> dict[str, int]:
        """Process ids of the running components by short name (gateway, alerts, ...)."""
        return {
            c.name.removeprefix("worker-"): c.proc.pid
            for c in self._cortex.children
            if c.proc is not None and c.running()
        }

    def stop(self) -> None:
        """Stop every process (in parallel, SIGKILL after a grace period) and Redis."""
        self._cortex.stop()
        if self.qdrant_path.is_relative_to(_TMPFS):
            shutil.rmtree(self.qdrant_path, ignore_errors=True)

    def logs(self, lines: int = 20) -> str:
        """Every process's log tail, for a failed run."""
        return self._cortex.tails(lines)
