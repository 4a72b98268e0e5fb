"""Socket Mode: Slack traffic over an outbound WebSocket, for clusters without public ingress.

Used by ``clusterdoc serve`` instead of ``/slack/events`` when ``SLACK_APP_TOKEN`` is set. The
same Bolt app and listeners handle the requests; only the transport differs (Slack does not
sign Socket Mode envelopes, the app-level token authenticates the connection instead).
"""

from __future__ import annotations

import logging
import threading

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

log = logging.getLogger(__name__)


class SocketModeRunner:
    """Connects a Bolt app over Socket Mode in the background and reports whether it is connected."""

    def __init__(self, app: App, app_token: str) -> None:
        self.handler = SocketModeHandler(app, app_token=app_token)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Connect in a daemon thread; the client reconnects by itself after a drop."""
        self._thread = threading.Thread(target=self._connect, name="socket-mode", daemon=True)
        self._thread.start()

    def _connect(self) -> None:
        try:
            self.handler.connect()
            log.info("socket mode connected")
        except Exception as exc:  # readiness reports it; the process stays up for the probes
            log.error("socket mode could not connect: %s: %s", type(exc).__name__, exc)

    def connected(self) -> bool:
        return bool(self.handler.client.is_connected())

    def close(self) -> None:
        self.handler.close()
