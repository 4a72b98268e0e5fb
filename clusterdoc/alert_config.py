"""The ``alerts:`` section of ``CLUSTERDOC_CONFIG``: routes, incident keys, windows and limits.

Example::

    alerts:
      incident_key: group          # or "fingerprint": one thread per alert instead of per group
      routes:                      # first match wins; unmatched alerts go to CLUSTERDOC_ALERT_CHANNEL
        - matchers: ['namespace=~"shop|payments"', 'severity!="info"']
          channel: C0SHOP
          cluster: prod-eu
      runbooks: {MyAppDown: deployment}   # alertname → runbook, on top of the built-in defaults
      storm: {threshold: 10, window_seconds: 60}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$')


class MatcherError(ValueError):
    """A matcher that does not parse; the message quotes it."""


@dataclass(frozen=True)
class Matcher:
    """``name op value``; ``matches`` applies it to a label set."""

    name: str
    op: str
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        body = text[1:-1]
        return re.sub(r'\\(.)', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), body)
    return text


def parse_matcher(text: str) -> Matcher:
    """Parse ``name=~"regex"`` style text; :class:`MatcherError` says what is wrong."""
    match = _MATCHER.match(text)
    if not match:
        raise MatcherError(f"matcher {text!r}: expected name=value, name!=value, name=~regex or name!~regex")
    name, op, raw = match.groups()
    value = _unquote(raw)
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise MatcherError(f"matcher {text!r}: bad regular expression ({exc})") from exc
    return Matcher(name, op, value)


class RouteSettings(BaseModel):
    """One route: Alertmanager-style matchers → a channel (and optionally the cluster)."""

    model_config = ConfigDict(extra="forbid")

    matchers: list[str] = Field(default_factory=list)
    channel: str = Field(min_length=1)
    cluster: str | None = None

    @field_validator("matchers")
    @classmethod
    def _matchers_parse(cls, value: list[str]) -> list[str]:
        for text in value:
            parse_matcher(text)
        return value


class StormSettings(BaseModel):
    """More than ``threshold`` new incidents within ``window_seconds`` in one channel is a storm."""

    model_config = ConfigDict(extra="forbid")

    threshold: int = Field(default=10, ge=1)
    window_seconds: int = Field(default=60, ge=1)
    update_seconds: float = Field(default=5.0, ge=0)
    """The storm root is edited at most this often."""
    max_triage: int = Field(default=20, ge=0)
    """Triage runs for at most this many alerts of one storm (the most severe first); the rest are counted."""


class PacingSettings(BaseModel):
    """Slack posting per channel: ``rate`` messages per second with a burst of ``burst``."""

    model_config = ConfigDict(extra="forbid")

    rate: float = Field(default=1.0, gt=0)
    burst: int = Field(default=3, ge=1)
    max_attempts: int = Field(default=5, ge=1)
    max_retry_after_seconds: float = Field(default=120.0, gt=0)
    dispatcher_max_wait_seconds: float = Field(default=5.0, gt=0)
    """The bot's dispatcher does not wait longer than this (or two pacing intervals) for one channel: a call
    to a channel blocked by a long ``Retry-After`` is kept for retry so the other channels go on."""


class AlertSettings(BaseModel):
    """Everything about alerts that is not an environment variable."""

    model_config = ConfigDict(extra="forbid")

    incident_key: Literal["group", "fingerprint"] = "group"
    routes: list[RouteSettings] = Field(default_factory=list)
    runbooks: dict[str, str] = Field(default_factory=dict)
    incident_ttl_hours: float = Field(default=72, gt=0)
    reopen_minutes: float = Field(default=60, ge=0)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    basic_auth_user: str | None = None
    triage_concurrency: int = Field(default=4, ge=1)
    triage_timeout_seconds: int = Field(default=300, ge=10)
    storm: StormSettings = Field(default_factory=StormSettings)
    pacing: PacingSettings = Field(default_factory=PacingSettings)
