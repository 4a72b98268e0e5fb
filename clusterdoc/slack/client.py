"""The one place Slack Web API clients are made, for both processes.

:func:`build_web_client` gives a plain client with retries (connection errors, and 429 after the
``Retry-After`` Slack sends); :func:`paced_web_client` gives one whose calls are also paced per
channel through Redis, so the bot's roots, the alert dispatcher and the workers' findings share
one pace per channel. Both talk to ``SLACK_API_URL`` when it is set (tests point it at a fake).
"""

from __future__ import annotations

from typing import Any

from redis import Redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler

from clusterdoc import metrics
from clusterdoc.alert_config import PacingSettings
from clusterdoc.config import Settings
from clusterdoc.slack.pacing import ChannelPacer, PacedWebClient

SLACK_API_URL = "https://slack.com/api/"
HTTP_TIMEOUT_SECONDS = 15
RATE_LIMIT_RETRIES = 5
CONNECTION_RETRIES = 3


class MeteredWebClient(WebClient):
    """Counts every Web API call by method, and failures by method and Slack error (``clusterdoc.metrics``)."""

    def api_call(self, api_method: str, **kwargs: Any) -> Any:
        metrics.SLACK_CALLS.labels(method=metrics.label(api_method)).inc()
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "")) if exc.response is not None and exc.response.data else ""
            metrics.slack_error(api_method, error or f"http_{exc.response.status_code}")
            raise
        except Exception as exc:
            metrics.slack_error(api_method, type(exc).__name__.lower())
            raise


class MeteredPacedWebClient(PacedWebClient, MeteredWebClient):  # type: ignore[misc]
    """The paced client, each attempt counted."""


def api_base_url(settings: Settings) -> str:
    """``SLACK_API_URL`` (ending in ``/``), or Slack's own."""
    base_url = settings.SLACK_API_URL or SLACK_API_URL
    return base_url if base_url.endswith("/") else base_url + "/"


def retry_handlers() -> list[RetryHandler]:
    """Retry dropped connections, and 429 answers after the ``Retry-After`` Slack sends."""
    return [
        ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
        RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
    ]


def build_web_client(settings: Settings) -> WebClient:
    """A Web API client for the bot token, with retries."""
    return MeteredWebClient(token=settings.SLACK_BOT_TOKEN, base_url=api_base_url(settings),
                            timeout=HTTP_TIMEOUT_SECONDS, retry_handlers=retry_handlers())


def paced_web_client(settings: Settings, redis: Redis, pacing: PacingSettings | None = None, *,
                     dispatcher: bool = False) -> PacedWebClient:
    """A Web API client for the bot token whose calls are paced per channel through Redis.

    The ``dispatcher``'s client does not wait out a long ``Retry-After`` of one channel (the call is
    kept for retry instead) so one rate-limited channel does not hold up the others.
    """
    pacing = pacing or settings.file_config().alerts.pacing
    return MeteredPacedWebClient(pacer=ChannelPacer(redis, pacing), token=settings.SLACK_BOT_TOKEN,
                          base_url=api_base_url(settings), timeout=HTTP_TIMEOUT_SECONDS,
                          max_wait_seconds=pacing.dispatcher_max_wait_seconds if dispatcher else None)
