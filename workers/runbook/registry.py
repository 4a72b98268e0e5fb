"""The step registry: each step kind names its parameter model and its function.

Each step module exposes one ``STEP_KIND`` (listed in :data:`clusterdoc.workers.steps.STEP_KINDS`);
runbook validation checks every step's ``with:`` block against the model registered for its
kind, so a typo in a runbook is found at load time, not halfway through an incident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from clusterdoc.report import Finding, Remediation, Target, Verdict
from clusterdoc.workers.cluster.base import Cluster, Obj


class StepParams(BaseModel):
    """Base of every step's parameters: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class StepContext:
    """What a step may use: the cluster, the target (already fetched) and the run's parameters."""

    cluster: Cluster
    target: Target | None
    target_object: Obj | None
    params: dict[str, str]
    runbook: str
    now: datetime
    shared: dict[str, Any] = field(default_factory=dict)
    """Values steps of one run share (an object one step fetched that another needs)."""


@dataclass
class StepResult:
    """What a step established."""

    findings: list[Finding] = field(default_factory=list)
    verdict: Verdict | None = None
    remediations: list[Remediation] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


StepFunction = Callable[[StepContext, Any], StepResult]


@dataclass(frozen=True)
class StepKind:
    name: str
    params: type[StepParams]
    run: StepFunction
    summary: str


STEPS: dict[str, StepKind] = {}
"""Every step kind by name: the built-in ones (:data:`clusterdoc.workers.steps.STEP_KINDS`) and any
registered with :func:`register`."""


def register(kind: StepKind) -> StepKind:
    """Add ``kind`` to :data:`STEPS`; a second kind of the same name is an error."""
    known = STEPS.get(kind.name)
    if known is not None and known is not kind:
        raise ValueError(f"step kind {kind.name!r} registered twice")
    STEPS[kind.name] = kind
    return kind


def load_builtin_steps() -> dict[str, StepKind]:
    """Register the built-in step kinds (once); returns the registry."""
    from clusterdoc.workers.steps import STEP_KINDS

    for kind in STEP_KINDS:
        register(kind)
    return STEPS
