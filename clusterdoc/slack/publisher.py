"""Posts rendered reports into a Slack thread: the worker side's :class:`~workers.publish.Publisher`.

Every message of a report goes to the thread with ``thread_ts``; long output the renderer put
into files is uploaded with ``files_upload_v2`` into the same thread. The Web API client
retries connection errors and 429 answers (after ``Retry-After``) by itself; a post that still
fails is logged with its channel and API method and raised as :class:`PublishError`, so the RQ
job fails and its retry policy keeps the work — nothing is silently dropped. When that retry
runs, the parts of the report already delivered by the failed attempt are skipped (remembered
in Redis per RQ job), so the thread does not get them twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from redis import Redis
from rq import get_current_job
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from clusterdoc.queue import DELIVERED_PREFIX, ThreadRef
from clusterdoc.redact import redact, redact_report
from clusterdoc.render.blocks import SlackMessage, render_error, render_report
from clusterdoc.report import Report

log = logging.getLogger(__name__)

DELIVERED_TTL_SECONDS = 24 * 3600


class PublishError(Exception):
    """A Slack call failed for good (after the client's own retries)."""


def call_slack(method: str, channel: str, call: Callable[[], Any]) -> Any:
    """Run one Web API call; log a final failure with channel and method and raise :class:`PublishError`."""
    try:
        return call()
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown_error") if exc.response is not None else "unknown_error"
        log.error("slack %s to channel %s failed: %s", method, channel, error)
        raise PublishError(f"slack {method} to channel {channel} failed: {error}") from exc
    except (SlackClientError, OSError) as exc:
        log.error("slack %s to channel %s failed: %s: %s", method, channel, type(exc).__name__, exc)
        raise PublishError(f"slack {method} to channel {channel} failed: {type(exc).__name__}") from exc


class SlackPublisher:
    """:class:`workers.publish.Publisher` over the Slack Web API."""

    def __init__(self, client: WebClient, redis: Redis | None = None) -> None:
        self.client = client
        self.redis = redis

    def publish(self, report: Report, thread: ThreadRef) -> None:
        report, found = redact_report(report)  # secrets an app printed never reach the thread
        if found.total:
            log.warning("redacted %s in the report for %s", found.summary(), thread.channel)
        rendering = render_report(report)
        delivered = self._delivered_key()
        for index, message in enumerate(rendering.messages):
            self._once(delivered, f"message:{index}", lambda message=message: self._post(message, thread))
        for index, file in enumerate(rendering.files):
            self._once(delivered, f"file:{index}", lambda file=file: call_slack(
                "files.uploadV2",
                thread.channel,
                lambda: self.client.files_upload_v2(
                    channel=thread.channel,
                    thread_ts=thread.ts,
                    content=file.content,
                    filename=file.filename,
                    title=file.title,
                ),
            ))

    def _delivered_key(self) -> str | None:
        """Where this RQ job's delivered parts are remembered (None outside a job or without Redis)."""
        job = get_current_job()
        return f"{DELIVERED_PREFIX}{job.id}" if job is not None and self.redis is not None else None

    def _once(self, key: str | None, part: str, deliver: Callable[[], Any]) -> None:
        """Deliver ``part`` unless an earlier attempt of the same job already did."""
        if key is None or self.redis is None:
            deliver()
            return
        if self.redis.sismember(key, part):
            log.info("skipping %s of %s: delivered by an earlier attempt", part, key)
            return
        deliver()
        pipe = self.redis.pipeline()
        pipe.sadd(key, part)
        pipe.expire(key, DELIVERED_TTL_SECONDS)
        pipe.execute()

    def publish_error(self, text: str, thread: ThreadRef) -> None:
        self._post(render_error(redact(text)), thread)

    def _post(self, message: SlackMessage, thread: ThreadRef) -> None:
        call_slack(
            "chat.postMessage",
            thread.channel,
            lambda: self.client.chat_postMessage(
                channel=thread.channel,
                thread_ts=thread.ts,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            ),
        )
