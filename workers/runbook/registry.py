"""The step registry: each step kind names its parameter model and its function.

A step module registers itself with :func:`step`; runbook validation checks every step's
``with:`` block against the model registered for its kind, so a typo in a runbook is found at
load time, not halfway through an incident.
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


def step(name: str, params: type[StepParams], summary: str) -> Callable[[StepFunction], StepFunction]:
    """Register ``function`` as the step kind ``name`` with parameter model ``params``."""

    def register(function: StepFunction) -> StepFunction:
        if name in STEPS:
            raise ValueError(f"step kind {name!r} registered twice")
        STEPS[name] = StepKind(name, params, function, summary)
        return function

    return register


def load_builtin_steps() -> dict[str, StepKind]:
    """Import the step modules so they register; returns the registry."""
    import clusterdoc.workers.steps  # noqa: F401  (registers on import)

    return STEPS
