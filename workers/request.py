"""What a diagnosis job carries: the parsed command, as primitives that RQ can pickle.

The bot builds a :class:`DiagnosisRequest` from ``/k8s ...`` (or an alert), enqueues
``workers.jobs.diagnose`` with ``request.to_json()``, and the worker rebuilds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workers.report import Target


@dataclass(frozen=True)
class DiagnosisRequest:
    """One runbook run: which runbook, on what, in which cluster, with which parameters."""

    verb: str
    runbook: str
    target: Target | None
    cluster: str = "default"
    params: dict[str, str] = field(default_factory=dict)
    command: str = ""
    requested_by: str = ""
    """The chat user who asked (offers of remediations name them; the two-person rule needs it)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "verb": self.verb,
            "runbook": self.runbook,
            "target": self.target.to_json() if self.target else None,
            "cluster": self.cluster,
            "params": dict(self.params),
            "command": self.command,
            "requested_by": self.requested_by,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DiagnosisRequest:
        target = Target.from_json(data["target"]) if data.get("target") else None
        return cls(
            verb=data["verb"],
            runbook=data["runbook"],
            target=target,
            cluster=data.get("cluster", "default"),
            params=dict(data.get("params") or {}),
            command=data.get("command", ""),
            requested_by=data.get("requested_by", ""),
        )
