"""Step kinds: one module each, exposing one ``STEP_KIND``; this tuple is the built-in catalogue.

To add a step kind: write ``workers/steps/<name>.py`` with its parameter model, its function and
``STEP_KIND = StepKind(NAME, Params, function, summary)``, then list it here.
"""

from clusterdoc.workers.runbook.registry import StepKind
from clusterdoc.workers.steps import crashloop, describe, events, node, rollout, scheduling

STEP_KINDS: tuple[StepKind, ...] = (
    describe.STEP_KIND,
    events.STEP_KIND,
    scheduling.STEP_KIND,
    crashloop.STEP_KIND,
    node.STEP_KIND,
    rollout.STEP_KIND,
)

__all__ = ["STEP_KINDS"]
