"""A pending action: what an Approve button would run, kept in Redis, never in the button.

The button's value is only :attr:`PendingAction.id` (an unguessable token). The record holds
the action, target and parameters, the target's identity as seen at diagnosis (UID,
resourceVersion, generation...), who asked, where the buttons are, and when they expire.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from clusterdoc.report import Target


def new_id() -> str:
    """An opaque, unguessable id (128 bits)."""
    return secrets.token_urlsafe(16)


@dataclass
class PendingAction:
    """One offered remediation waiting for approval."""

    id: str
    action: str
    target: Target
    risk: str
    description: str
    cluster: str
    channel: str
    requester: str
    created_at: float
    expires_at: float
    params: dict[str, Any] = field(default_factory=dict)
    seen: dict[str, Any] = field(default_factory=dict)
    thread_ts: str = ""
    message_ts: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = self.target.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PendingAction:
        values = dict(data)
        values["target"] = Target.from_json(values["target"])
        return cls(**values)

    def target_text(self) -> str:
        """``pod shop/web-0`` / ``node ip-10-0-1-5``."""
        return f"{self.target.kind.lower()} {self.target.ref()}"
