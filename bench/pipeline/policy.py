"""The slot policy each scenario's direct best is held to: the slots each kind may use.

Alerts (and search) may use every slot up to the cap; chats are bulk work and may use only
`cap - CORTEX_SLOTS_RESERVED`, and only while fewer calls than that run in total, so chats
wait while alert calls run. Called directly under the same policy, the backend would embed a
scenario's alerts at the cap's best and its chats at the bulk allowance's best, effectively
one kind at a time (alerts first): `alerts / best(cap) + chats / best(cap - reserved)`
seconds. End to end is held against that time, so a limit the policy sets on purpose is not
reported as pipeline overhead.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from bench.pipeline.direct import CostModel, Direct, at, best, fit
from bench.pipeline.meter import CallSummary
from bench.pipeline.params import Params


@dataclass(frozen=True)
class Baseline:
    """Per kind ("alert", "chat"): the slots it may use, the direct best there, cost per call."""

    slots: dict[str, int]
    # Inputs/s measured directly at the configured batch size from `slots` threads.
    best: dict[str, float]
    models: dict[str, CostModel]
    # Inputs/s at the full cap: the one baseline for every scenario before the policy.
    full_cap: float

    def direct_s(self, counts: Mapping[str, int]) -> float:
        """Seconds the backend takes directly for `counts` inputs per kind, one kind at a time."""
        return sum(n / self.best[kind] for kind, n in counts.items() if n and self.best[kind])

    def inputs_per_s(self, counts: Mapping[str, int]) -> float:
        """The direct best for this mix of kinds: inputs over `direct_s`."""
        seconds = self.direct_s(counts)
        return sum(counts.values()) / seconds if seconds else 0.0

    def backend_s(self, calls: Mapping[str, CallSummary]) -> float:
        """Seconds these calls take at the measured cost per call, each kind on its slots."""
        return sum(
            self.models[kind].seconds(calls=c.calls, inputs=c.inputs) / self.slots[kind]
            for kind, c in calls.items()
            if c.calls
        )


def baseline(results: list[Direct], params: Params) -> Baseline:
    """The baseline from a direct sweep; chats only if their allowance was measured."""
    allowed = {"alert": params.slots_cap, "chat": params.bulk_slots}
    slots = {kind: n for kind, n in allowed.items() if at(results, n)}
    return Baseline(
        slots=slots,
        best={kind: best(results, params, n).inputs_per_s for kind, n in slots.items()},
        models={kind: fit(at(results, n)) for kind, n in slots.items()},
        full_cap=best(results, params).inputs_per_s,
    )
