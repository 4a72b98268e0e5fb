"""Socket Mode: Slack traffic over an outbound WebSocket, for clusters without public ingress.

Used by ``clusterdoc serve`` instead of ``/slack/events`` when ``SLACK_APP_TOKEN`` is set. The
same Bolt app and listeners handle the requests; only the transport differs (Slack does not
sign Socket Mode envelopes, the app-level token authenticates the connection instead).

``slack_sdk`` reconnects by itself once a first connection was made; until then (Slack down or
answering an error at start-up) :class:`SocketModeRunner` keeps retrying with a capped backoff.
"""

from __future__ import annotations

import logging
import threading

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0


class SocketModeRunner:
    """Connects a Bolt app over Socket Mode in the background and reports whether it is connected."""

    def __init__(self, app: App, app_token: str) -> None:
        self.handler = SocketModeHandler(app, app_token=app_token)
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()

    def start(self) -> None:
        """Connect in a daemon thread, retrying until the first connection; the client reconnects after drops."""
        self._thread = threading.Thread(target=self._connect, name="socket-mode", daemon=True)
        self._thread.start()

    def _connect(self) -> None:
        delay = FIRST_RETRY_SECONDS
        while not self._closed.is_set():
            try:
                self.handler.connect()
                log.info("socket mode connected")
                return
            except Exception as exc:  # readiness reports it; the process stays up for the probes
                log.error("socket mode could not connect (retrying in %gs): %s: %s", delay, type(exc).__name__, exc)
            if self._closed.wait(delay):
                return
            delay = min(delay * 2, MAX_RETRY_SECONDS)

    def connected(self) -> bool:
        return bool(self.handler.client.is_connected())

    def close(self) -> None:
        self._closed.set()
        self.handler.close()
