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
from slack_sdk.errors import SlackApiError

from clusterdoc.config import ConfigError

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0
TOKEN_ERRORS = frozenset({
    "invalid_auth", "not_authed", "not_allowed_token_type", "account_inactive", "token_revoked", "token_expired",
})
"""``apps.connections.open`` errors that retrying cannot fix: the app-level token itself is wrong."""


def token_problem(exc: Exception) -> str | None:
    """The Slack error code when ``exc`` says the app-level token is unusable, else None."""
    if isinstance(exc, SlackApiError):
        error = str(exc.response.get("error", ""))
        if error in TOKEN_ERRORS:
            return error
    return None


class SocketModeRunner:
    """Connects a Bolt app over Socket Mode in the background and reports whether it is connected."""

    def __init__(self, app: App, app_token: str) -> None:
        self.handler = SocketModeHandler(app, app_token=app_token)
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()

    def start(self) -> None:
        """Connect once now; a rejected token raises :class:`ConfigError`, other failures retry in the background.

        Retries run in a daemon thread until the first connection; the client reconnects after drops.
        """
        try:
            self.handler.connect()
            log.info("socket mode connected")
            return
        except Exception as exc:
            problem = token_problem(exc)
            if problem:
                raise ConfigError(f"SLACK_APP_TOKEN: Slack rejected the app-level token ({problem})") from exc
            log.error("socket mode could not connect (retrying in %gs): %s: %s", FIRST_RETRY_SECONDS,
                      type(exc).__name__, exc)
        self._thread = threading.Thread(target=self._connect, name="socket-mode", daemon=True)
        self._thread.start()

    def _connect(self) -> None:
        delay = FIRST_RETRY_SECONDS
        while not self._closed.wait(delay):
            try:
                self.handler.connect()
                log.info("socket mode connected")
                return
            except Exception as exc:  # readiness reports it; the process stays up for the probes
                problem = token_problem(exc)
                if problem:
                    log.error("socket mode stopped: Slack rejected SLACK_APP_TOKEN (%s)", problem)
                    return
                delay = min(delay * 2, MAX_RETRY_SECONDS)
                log.error("socket mode could not connect (retrying in %gs): %s: %s", delay, type(exc).__name__, exc)

    def connected(self) -> bool:
        return bool(self.handler.client.is_connected())

    def close(self) -> None:
        self._closed.set()
        self.handler.close()
