"""Where a worker's findings go: a thread reference and the publishing interface.

Workers never import Slack. The process wiring (``bot.worker_process``) hands
:func:`workers.jobs.configure` an object satisfying :class:`Publisher`; in production that is
``bot.publisher.SlackPublisher``. A publisher raises when a post finally fails, so the RQ job
fails and its retry keeps the work instead of silently dropping it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from workers.report import Report


@dataclass(frozen=True)
class ThreadRef:
    """A chat thread: the channel and the timestamp (``ts``) of its root message."""

    channel: str
    ts: str

    def to_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "ts": self.ts}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ThreadRef:
        return cls(channel=str(data["channel"]), ts=str(data["ts"]))


class Publisher(Protocol):
    """Posts reports and failures into a thread; raises when a post cannot be delivered."""

    def publish(self, report: Report, thread: ThreadRef) -> None:
        """Post ``report`` as replies in ``thread``."""
        ...

    def publish_error(self, text: str, thread: ThreadRef) -> None:
        """Post a one-line failure notice in ``thread``."""
        ...
