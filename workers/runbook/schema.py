"""The runbook file format, as pydantic models, and the precise errors validation produces.

A runbook::

    name: why-pending
    title: Why is this pod Pending?
    targets: [Pod, Deployment]     # kinds it accepts; empty for cluster-wide runbooks
    params:                        # defaults, overridable with `/k8s run NAME key=value`
      events_limit: 15
    verdict_step: scheduling       # optional: this step's verdict is the report's
    steps:
      - kind: describe
      - kind: events
        with: {limit: "${events_limit}"}

Step ``with:`` blocks are checked against the parameter model registered for the step kind;
``"${name}"`` refers to a declared parameter and is substituted at run time.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from clusterdoc import kinds

PARAM_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


class StepSpec(BaseModel):
    """One step of a runbook."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: str
    id: str | None = None
    title: str | None = None
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")

    @property
    def step_id(self) -> str:
        return self.id or self.kind


class RunbookSpec(BaseModel):
    """A whole runbook file."""

    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    description: str = ""
    targets: list[str] = Field(default_factory=list)
    requires: list[str] = Field(default_factory=list)
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    steps: list[StepSpec] = Field(min_length=1)
    verdict_step: str | None = None
    """Id of the step whose verdict is the report's; otherwise the most severe verdict wins."""

    @model_validator(mode="after")
    def _verdict_step_exists(self) -> RunbookSpec:
        if self.verdict_step is not None and self.verdict_step not in {s.step_id for s in self.steps}:
            raise ValueError(f"verdict_step {self.verdict_step!r} names no step of this runbook")
        return self

    @field_validator("name")
    @classmethod
    def _name_is_dns_label(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("must be lower-case letters, digits and '-' (like a DNS label)")
        return value

    @field_validator("targets")
    @classmethod
    def _targets_are_kinds(cls, value: list[str]) -> list[str]:
        resolved = []
        for name in value:
            known = kinds.lookup(name)
            if known is None:
                raise ValueError(f"unknown kind {name!r}")
            resolved.append(known.kind)
        return resolved

    @field_validator("requires")
    @classmethod
    def _requires_known(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in ("prometheus", "etcd"):
                raise ValueError(f"unknown requirement {name!r} (known: prometheus, etcd)")
        return value


def error_lines(exc: ValidationError, prefix: str = "") -> list[str]:
    """pydantic errors as ``path: problem`` lines, paths written like ``steps[1].with.limit``."""
    lines = []
    for error in exc.errors():
        path = prefix
        for part in error["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            else:
                path += f".{part}" if path else str(part)
        lines.append(f"{path or '(top level)'}: {error['msg']}")
    return lines
