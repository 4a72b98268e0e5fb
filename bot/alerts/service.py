"""Wires the alert side into the processes: the ``/alerts`` route and the dispatcher thread for
``clusterdoc serve``, and the paced Slack client that both the dispatcher and the workers use.

``bot.server.serve`` mounts :meth:`AlertService.routes` and calls :meth:`AlertService.start`;
``bot.worker_process`` builds its Slack publisher on :func:`paced_web_client`, so triage replies
share the per-channel pace with the roots the bot posts.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from redis import Redis
from starlette.routing import BaseRoute

from bot.alerts.dispatcher import Dispatcher
from bot.alerts.endpoint import AlertsEndpoint
from bot.alerts.pacing import ChannelPacer, PacedWebClient
from bot.alerts.routing import Router
from bot.alerts.settings import PacingSettings
from bot.config import Settings

log = logging.getLogger(__name__)

SLACK_API_URL = "https://slack.com/api/"
HTTP_TIMEOUT_SECONDS = 15


def paced_web_client(settings: Settings, redis: Redis, pacing: PacingSettings | None = None, *,
                     dispatcher: bool = False) -> PacedWebClient:
    """A Web API client for the bot token whose calls are paced per channel through Redis.

    The ``dispatcher``'s client does not wait out a long ``Retry-After`` of one channel (the call is
    kept for retry instead) so one rate-limited channel does not hold up the others.
    """
    base_url = settings.SLACK_API_URL or SLACK_API_URL
    if not base_url.endswith("/"):
        base_url += "/"
    pacing = pacing or settings.file_config().alerts.pacing
    return PacedWebClient(pacer=ChannelPacer(redis, pacing), token=settings.SLACK_BOT_TOKEN, base_url=base_url,
                          timeout=HTTP_TIMEOUT_SECONDS,
                          max_wait_seconds=pacing.dispatcher_max_wait_seconds if dispatcher else None)


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
