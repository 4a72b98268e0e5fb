"""Step kinds: one module each, exposing one ``STEP_KIND``; this tuple is the built-in catalogue.

To add a step kind: write ``workers/steps/<name>.py`` with its parameter model, its function and
``STEP_KIND = StepKind(NAME, Params, function, summary)``, then list it here.
"""

from clusterdoc.workers.runbook.registry import StepKind
from clusterdoc.workers.steps import (
    capacity,
    control_plane,
    crashloop,
    describe,
    etcd,
    events,
    metrics,
    node,
    rollout,
    scheduling,
    triage,
)

STEP_KINDS: tuple[StepKind, ...] = (
    describe.STEP_KIND,
    events.STEP_KIND,
    scheduling.STEP_KIND,
    crashloop.STEP_KIND,
    node.STEP_KIND,
    rollout.STEP_KIND,
    metrics.STEP_KIND,
    etcd.STEP_KIND,
    control_plane.STEP_KIND,
    capacity.STEP_KIND,
    triage.STEP_KIND,
)

__all__ = ["STEP_KINDS"]
