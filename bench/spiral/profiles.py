"""The node profiles: which node, which receivers, and what the issue asks of each.

- **today**: the original scenario. Ollama without a CPU limit (a call runs 16 threads), 4
  cores of other work, the naive receiver beside cluster-cortex with the bench's original
  settings (two slots, batches of 16).
- **uncapped**: the same node beside 8 cores of other work. Nothing on the node stops a
  16-thread call: only the client can make it safe, by asking for `options.num_thread`.
- **deployed**: Ollama capped at 4 threads a call as the manifests say (a call without
  `num_thread` runs 4, like a derived model with `PARAMETER num_thread 4`), 8 cores of other
  work. The fixed-concurrency baseline (fixed.py) runs here for k = 1, 2, ... calls at once.
- **seed-cost**: the deployed node at the seed's cost: one input takes 24 s of the whole node
  (0.4 s compressed), and pods on other nodes keep alerting while the chat job runs.

The new profiles run cluster-cortex with the README's defaults for the slot cap, batch size
and slow-call threshold, and the CPU settings a deployment on that node would set (cortex.py).
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Profile:
    """A named node profile: parameter overrides, and shorter ones for --quick."""

    name: str
    summary: str
    overrides: dict[str, Any]
    quick: dict[str, Any] = field(default_factory=dict)


# The product's own settings, not the bench's original choices for the "today" column.
_README_DEFAULTS = {"slots_cap": 0, "embed_batch_size": 0, "breaker_slow_call_s": 0.0}
_DEPLOYED = {**_README_DEFAULTS, "background_cores": 8.0, "node_threads": 4}

PROFILES = {
    p.name: p
    for p in [
        Profile("today", "Ollama uncapped, 4 background cores", {}),
        Profile(
            "uncapped", "Ollama uncapped, 8 background cores",
            {**_README_DEFAULTS, "background_cores": 8.0, "receivers": ("cortex",)},
        ),
        Profile(
            "deployed", "Ollama at 4 threads a call, 8 background cores",
            {**_DEPLOYED, "receivers": ("fixed", "cortex")},
        ),
        Profile(
            "seed-cost", "deployed node, an input costs 24 s of the node",
            {**_DEPLOYED, "per_input_s": 0.4, "steady_alerts_per_s": 0.3,
             "drain_timeout_s": 60.0, "receivers": ("cortex",)},
            quick={"drain_timeout_s": 30.0},
        ),
    ]
}  # fmt: skip
