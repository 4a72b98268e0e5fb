"""Wires the alert side into ``clusterdoc serve``: the ``/alerts`` route and the dispatcher thread.

:func:`clusterdoc.bot.server.serve` mounts :meth:`AlertService.routes` and calls
:meth:`AlertService.start`. The dispatcher's Slack client comes from
:func:`clusterdoc.slack.client.paced_web_client`, which the workers use too, so triage replies
share the per-channel pace with the roots the bot posts.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from redis import Redis
from starlette.routing import BaseRoute

from clusterdoc.bot.alerts.dispatcher import Dispatcher
from clusterdoc.bot.alerts.endpoint import AlertsEndpoint
from clusterdoc.bot.alerts.routing import Router
from clusterdoc.config import Settings
from clusterdoc.slack.client import paced_web_client

log = logging.getLogger(__name__)

@dataclass
class AlertService:
    """The webhook endpoint and the dispatcher of one ``serve`` process."""

    endpoint: AlertsEndpoint
    dispatcher: Dispatcher
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def routes(self) -> list[BaseRoute]:
        return [self.endpoint.route()]

    def start(self) -> None:
        """Run the dispatcher in a daemon thread (it first takes back deliveries left unfinished)."""
        if self._thread is None:
            self._thread, self._stop = self.dispatcher.start()
            if not self.endpoint.token:
                log.warning("ALERTS_TOKEN is not set: POST /alerts answers 503 until it is")

    def ready_problem(self) -> str | None:
        """For ``/readyz``: why alerts are not being dispatched right now (None when they are)."""
        return self.liveness_problem() or self.dispatcher.problem

    def liveness_problem(self) -> str | None:
        """For ``/healthz``: the dispatcher thread was started and has died (only a restart helps)."""
        if self._thread is not None and not self._thread.is_alive() and not self._stop.is_set():
            return "alert dispatcher thread is not running"
        return None

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def build_alert_service(settings: Settings, redis: Redis) -> AlertService:
    """The alert side of ``serve`` from the environment and ``CLUSTERDOC_CONFIG``'s ``alerts:`` section."""
    config = settings.file_config()
    alerts = config.alerts
    channel_clusters = {channel: entry.cluster for channel, entry in config.channels.items()}
    router = Router(alerts, settings.CLUSTERDOC_ALERT_CHANNEL, settings.CLUSTERDOC_CLUSTER, channel_clusters)
    client = paced_web_client(settings, redis, alerts.pacing, dispatcher=True)
    return AlertService(AlertsEndpoint(redis, settings.ALERTS_TOKEN, alerts), Dispatcher(redis, client, router, alerts))
