"""Posts rendered reports into a Slack thread: the worker side's :class:`~clusterdoc.workers.publish.Publisher`.

Every message of a report goes to the thread with ``thread_ts``; long output the renderer put
into files is uploaded with ``files_upload_v2`` into the same thread. The Web API client
retries connection errors and 429 answers (after ``Retry-After``) by itself; a post that still
fails is logged with its channel and API method and raised as :class:`PublishError`, so the RQ
job fails and its retry policy keeps the work — nothing is silently dropped. When that retry
runs, the parts of the report already delivered by the failed attempt are skipped (remembered
in Redis per RQ job), so the thread does not get them twice.

An *ambiguous* failure (Slack answered 5xx, or the answer never came) may still have stored the
message. Every message is therefore tagged with message metadata naming its part
(``clusterdoc_report_part``, ``{"part": "<job id>:message:<n>"}``); after an ambiguous failure
— in this attempt or an earlier one — the thread is read (``conversations.replies`` with
``include_all_metadata``) and a part found there counts as delivered instead of being posted
again. A 500 that stored nothing finds nothing and is posted once; a 429 is retried by the client
and never ambiguous. Reading the thread needs ``channels:history`` (``groups:history`` in private
channels); without it the part is posted again, as before.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any

from redis import Redis
from rq import get_current_job
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from clusterdoc.queue import DELIVERED_PREFIX, ThreadRef
from clusterdoc.redact import redact, redact_report
from clusterdoc.render.blocks import SlackFile, SlackMessage, render_error, render_report, render_root
from clusterdoc.report import Report
from clusterdoc.slack.tagged import PublishError, call_slack, post_tagged, tag, tagged_payloads

log = logging.getLogger(__name__)

DELIVERED_TTL_SECONDS = 24 * 3600


PART_EVENT_TYPE = "clusterdoc_report_part"
AMBIGUOUS_MARK = "ambiguous"
"""Member of a job's delivered set: some post of this job failed in a way that may have delivered it."""
REPLY_PAGES = 20


class SlackPublisher:
    """:class:`clusterdoc.workers.publish.Publisher` over the Slack Web API."""

    def __init__(self, client: WebClient, redis: Redis | None = None) -> None:
        self.client = client
        self.redis = redis
        self._first_reply_ts: str | None = None

    def publish(self, report: Report, thread: ThreadRef) -> None:
        report, found = redact_report(report)  # secrets an app printed never reach the thread
        if found.total:
            log.warning("redacted %s in the report for %s", found.summary(), thread.channel)
        rendering = render_report(report)
        self._first_reply_ts = None
        delivered = self._delivered_key()
        tag = delivered.removeprefix(DELIVERED_PREFIX) if delivered else uuid.uuid4().hex
        seen: set[str] | None = None  # part ids found in the thread (read only after an ambiguous failure)
        for index, message in enumerate(rendering.messages):
            part_id = f"{tag}:message:{index}"
            if delivered and self.redis is not None and self.redis.sismember(delivered, AMBIGUOUS_MARK) \
                    and not self.redis.sismember(delivered, f"message:{index}"):
                seen = self._readable_parts(thread) if seen is None else seen
                if part_id in seen:
                    log.info("part %s is already in the thread (an earlier answer was lost); not posted again",
                             part_id)
                    self._mark(delivered, f"message:{index}")
                    continue
            self._once(delivered, f"message:{index}",
                       functools.partial(self._post_part, message, thread, part_id, delivered))
        for index, file in enumerate(rendering.files):
            self._once(delivered, f"file:{index}", functools.partial(self._upload, file, thread))
        self._once(delivered, "root", functools.partial(self.mark_root, report, thread))

    def mark_root(self, report: Report, thread: ThreadRef) -> None:
        """Edit the thread's root from "working on it… (job …)" to the verdict line and a link to the
        findings. Cosmetic: a failure is logged, never raised (the findings are already delivered)."""
        if not thread.root_text:  # not a /k8s root (an alert's message, an old payload): leave it
            return
        try:
            link = None
            if self._first_reply_ts:
                answer = self.client.chat_getPermalink(channel=thread.channel, message_ts=self._first_reply_ts)
                link = str(answer.get("permalink") or "") or None
            message = render_root(thread.root_text, report, link)
            self.client.chat_update(channel=thread.channel, ts=thread.ts, text=message.text, blocks=message.blocks)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("could not edit the root of thread %s in channel %s: %s", thread.ts, thread.channel,
                        exc.response.get("error") if isinstance(exc, SlackApiError) else exc)

    def _upload(self, file: SlackFile, thread: ThreadRef) -> None:
        call_slack(
            "files.uploadV2",
            thread.channel,
            lambda: self.client.files_upload_v2(
                channel=thread.channel, thread_ts=thread.ts, content=file.content, filename=file.filename,
                title=file.title,
            ),
        )

    def _post_part(self, message: SlackMessage, thread: ThreadRef, part_id: str, delivered: str | None) -> None:
        """Post one tagged part. After an ambiguous failure the thread is read: a copy found there
        counts as delivered; none found, the part is posted again (:func:`post_tagged`)."""
        metadata = tag(PART_EVENT_TYPE, part=part_id)

        def already_there() -> bool | None:
            if delivered is not None:
                self._mark(delivered, AMBIGUOUS_MARK)
            return True if part_id in self._readable_parts(thread) else None

        post_tagged(functools.partial(self._post, message, thread, metadata=metadata),
                    lambda exc: isinstance(exc, PublishError) and exc.ambiguous, already_there, f"part {part_id}")

    def _readable_parts(self, thread: ThreadRef) -> set[str]:
        """:meth:`_parts_in_thread`, or nothing when the thread cannot be read (no ``channels:history``
        for this channel, Slack down): then a part may be posted twice, as before this check existed."""
        try:
            return self._parts_in_thread(thread)
        except PublishError as exc:
            log.warning("cannot check the thread for parts already posted (%s); posting again", exc)
            return set()

    def _parts_in_thread(self, thread: ThreadRef) -> set[str]:
        """Part ids of the clusterdoc messages in ``thread`` (reads every page of ``conversations.replies``)."""
        found = tagged_payloads(self.client, "conversations_replies", {"channel": thread.channel, "ts": thread.ts},
                                PART_EVENT_TYPE, REPLY_PAGES)
        return {str(payload.get("part", "")) for payload, _ts in found}

    def _mark(self, key: str, part: str) -> None:
        if self.redis is None:
            return
        pipe = self.redis.pipeline()
        pipe.sadd(key, part)
        pipe.expire(key, DELIVERED_TTL_SECONDS)
        pipe.execute()

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
        self._mark(key, part)

    def publish_error(self, text: str, thread: ThreadRef) -> None:
        self._post(render_error(redact(text)), thread)

    def _post(self, message: SlackMessage, thread: ThreadRef, metadata: dict[str, Any] | None = None) -> None:
        answer = call_slack(
            "chat.postMessage",
            thread.channel,
            lambda: self.client.chat_postMessage(
                channel=thread.channel,
                thread_ts=thread.ts,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
                metadata=metadata,
            ),
        )
        if self._first_reply_ts is None and answer is not None:
            self._first_reply_ts = str(answer.get("ts") or "") or None
