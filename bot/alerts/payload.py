"""Alertmanager's webhook payload (version 4) as pydantic models, and how to read a request body.

Alertmanager posts ``{"version": "4", "groupKey", "status", "receiver", "groupLabels",
"commonLabels", "commonAnnotations", "externalURL", "truncatedAlerts", "alerts": [...]}`` where
each alert has ``status``, ``labels``, ``annotations``, ``startsAt``, ``endsAt``,
``generatorURL`` and ``fingerprint``. Older versions leave out the per-alert ``fingerprint``
(and some the per-alert ``status``): :func:`label_fingerprint` derives the fingerprint exactly as
Alertmanager does (FNV-1a 64 over the sorted label pairs), and the status comes from ``endsAt``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from clusterdoc.workers.runbook.schema import error_lines

FIRING: Final = "firing"
RESOLVED: Final = "resolved"
Status = Literal["firing", "resolved"]

ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)
"""Alertmanager's ``endsAt`` for an alert with no known end: ``0001-01-01T00:00:00Z``."""

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_SEPARATOR = 0xFF


class PayloadError(ValueError):
    """The body is not an Alertmanager webhook payload; ``str()`` names the field and the problem."""


def label_fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint of a label set (prometheus/common ``LabelsToSignature``), 16 hex digits."""
    value = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode("utf-8"):
                value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
            value = ((value ^ _SEPARATOR) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Alert(BaseModel):
    """One alert of a notification."""

    model_config = ConfigDict(extra="ignore")

    status: Status | None = None
    labels: dict[str, str] = Field(min_length=1)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str = ""

    @field_validator("labels")
    @classmethod
    def _has_alertname(cls, value: dict[str, str]) -> dict[str, str]:
        if not value.get("alertname"):
            raise ValueError("an alert needs an 'alertname' label")
        return value

    def model_post_init(self, __context: Any) -> None:
        self.startsAt, self.endsAt = _aware(self.startsAt), _aware(self.endsAt)
        if not self.fingerprint:
            self.fingerprint = label_fingerprint(self.labels)
        if self.status is None:
            ended = self.endsAt is not None and ZERO_TIME < self.endsAt <= datetime.now(UTC)
            self.status = RESOLVED if ended else FIRING

    @property
    def alertname(self) -> str:
        return self.labels["alertname"]

    @property
    def firing(self) -> bool:
        return self.status == FIRING

    @property
    def ends_at(self) -> datetime | None:
        """``endsAt`` unless it is Alertmanager's zero time."""
        return self.endsAt if self.endsAt and self.endsAt > ZERO_TIME else None

    def to_record(self) -> dict[str, Any]:
        """The JSON-ready form stored in Redis and handed to the dispatcher."""
        return {
            "fingerprint": self.fingerprint,
            "status": self.status,
            "labels": self.labels,
            "annotations": self.annotations,
            "startsAt": self.startsAt.isoformat() if self.startsAt else None,
            "endsAt": self.ends_at.isoformat() if self.ends_at else None,
            "generatorURL": self.generatorURL,
        }


class WebhookPayload(BaseModel):
    """A whole notification from Alertmanager's webhook receiver."""

    model_config = ConfigDict(extra="ignore")

    version: str = "4"
    groupKey: str = ""
    receiver: str
    status: Status
    alerts: list[Alert] = Field(min_length=1)
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    truncatedAlerts: int = Field(default=0, ge=0)

    def model_post_init(self, __context: Any) -> None:
        if not self.groupKey:
            # Pre-v4 payloads: the receiver and the group's labels identify the group the same way.
            pairs = ",".join(f"{key}={value!r}" for key, value in sorted(self.groupLabels.items()))
            self.groupKey = f"{{}}:{{{pairs}}}|{self.receiver}"


def parse_payload(body: bytes) -> WebhookPayload:
    """Parse a request body; :class:`PayloadError` names the first problem (``alerts[0].labels: ...``)."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"body is not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise PayloadError("body is nested too deeply to be an Alertmanager payload") from exc
    except ValueError as exc:  # Python's int limit: a number of thousands of digits
        raise PayloadError(f"body has a number too long to read ({str(exc).split(':')[0]})") from exc
    if not isinstance(data, dict):
        raise PayloadError("(top level): expected a JSON object with receiver, status and alerts")
    try:
        return WebhookPayload.model_validate(data)
    except ValidationError as exc:
        raise PayloadError(error_lines(exc)[0]) from exc
