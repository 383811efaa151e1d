"""The slot policy each scenario's direct best is held to: every kind may use the whole cap.

Alerts (and search) may use every slot up to the cap. Chats may too: they take the last
`CORTEX_SLOTS_RESERVED` slots as *borrowed* slots while no alert or search call waits for
one, and never while one does, so in a mix they wait while alert calls run. Either way every
slot up to the cap serves one kind or the other, so called directly under the same policy
the backend would embed any mix of alerts and chats at the cap's best: `items / best(cap)`
seconds. End to end is held against that time.

A borrowed slot's call is cut to about `CORTEX_SLOTS_BORROW_TARGET_S` and any call to about
`CORTEX_EMBED_CALL_TARGET_S` at the learned speed; `params` refuses a cost at which either
would cut a call below `embed_batch_size`, so the full batch is the fair size for every call.
The bulk allowance alone (cap - reserved) is no scenario's baseline any more and is not
measured; what chats get beyond it is what borrowing wins, shown as chats' calls in flight.
"""

from dataclasses import dataclass

from bench.pipeline.direct import CostModel, Direct, best, fit
from bench.pipeline.meter import CallSummary
from bench.pipeline.params import Params


@dataclass(frozen=True)
class Baseline:
    """The slots every kind may use, the direct best there and the measured cost per call."""

    slots: int
    # Inputs/s measured directly at the configured batch size from `slots` threads.
    inputs_per_s: float
    model: CostModel

    def direct_s(self, inputs: int) -> float:
        """Seconds the backend takes directly for `inputs` inputs of any kinds."""
        return inputs / self.inputs_per_s if self.inputs_per_s else 0.0

    def backend_s(self, calls: CallSummary) -> float:
        """Seconds these calls take at the measured cost per call, back to back on the slots."""
        return self.model.seconds(calls=calls.calls, inputs=calls.inputs) / self.slots


def baseline(results: list[Direct], params: Params) -> Baseline:
    """The baseline from a direct sweep at the cap."""
    return Baseline(
        slots=params.slots_cap,
        inputs_per_s=best(results, params).inputs_per_s,
        model=fit(results),
    )
