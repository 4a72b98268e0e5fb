"""Where a worker's findings go: a thread reference and the publishing interface.

Jobs never import Slack themselves. The worker process wiring (:mod:`clusterdoc.workers.process`)
hands :func:`clusterdoc.workers.jobs.configure` an object satisfying :class:`Publisher`; in
production that is :class:`clusterdoc.slack.publisher.SlackPublisher`. A publisher raises when a
post finally fails, so the RQ job fails and its retry keeps the work instead of silently dropping it.
"""

from __future__ import annotations

from typing import Protocol

from clusterdoc.queue import ThreadRef
from clusterdoc.report import Report


class Publisher(Protocol):
    """Posts reports and failures into a thread; raises when a post cannot be delivered."""

    def publish(self, report: Report, thread: ThreadRef) -> None:
        """Post ``report`` as replies in ``thread``."""
        ...

    def publish_error(self, text: str, thread: ThreadRef) -> None:
        """Post a one-line failure notice in ``thread``."""
        ...
