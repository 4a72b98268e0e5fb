"""The Bolt app and its ``/k8s`` slash-command listener.

The listener is thin, as Bolt's own are: it parses the text and ``ack()``s at once — with the
usage line when the command is wrong (an ephemeral answer; nothing is queued), with the
answer for ``help``/``runbooks``, or empty. Only after the ack does it post the thread's root
message in the channel ("why-pending shop/web-0, asked by @user · cluster prod") and enqueue
the diagnosis on that cluster's queue; the worker answers in the root's thread. When the root
cannot be posted, or Redis is down, the user is told through ``response_url``.
"""

from __future__ import annotations

import logging
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from slack_bolt import Ack, App, Respond
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from clusterdoc import metrics
from clusterdoc.access import decide_access
from clusterdoc.approvals.audit import audit_reply
from clusterdoc.approvals.usergroups import UserGroupCache
from clusterdoc.bot import messages
from clusterdoc.bot.approvals.listeners import register_approval_listeners
from clusterdoc.bot.commands import VERB_BY_NAME, CommandError, ParsedCommand, parse_command
from clusterdoc.bot.metrics import BotMetrics
from clusterdoc.config import FileConfig, Settings
from clusterdoc.queue import DiagnosisRequest, ThreadRef, enqueue_diagnosis, listening_workers, queue_name
from clusterdoc.workers.runbook.loader import Catalogue

log = logging.getLogger(__name__)

LISTENER_THREADS = 32
"""Bolt runs each listener in this pool (it only parses and acks, so threads free up fast)."""
FOLLOW_UP_THREADS = 4
"""The work after the ack (Redis, root message) runs in this small pool: under a burst it queues
there, and the ack path keeps the CPU it needs to answer Slack within its 3 seconds."""


@dataclass
class BotContext:
    """What the listener needs besides the Bolt request: configuration, runbooks, Redis, counters."""

    settings: Settings
    file_config: FileConfig
    catalogue: Catalogue
    redis: Redis
    counters: BotMetrics = field(default_factory=BotMetrics)
    follow_ups: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=FOLLOW_UP_THREADS, thread_name_prefix="follow-up")
    )
    usergroups: UserGroupCache | None = None
    """Slack user-group members for the ``access:`` policy (made on first use)."""

    def access_refusal(self, parsed: ParsedCommand, channel: str, user: str, client: WebClient) -> str | None:
        """The ephemeral refusal when the ``access:`` policy does not let ``user`` run ``parsed``, else None."""
        policy = self.file_config.access
        if not policy.rules and policy.default == "allow":
            return None
        if self.usergroups is None and policy.uses_groups:
            self.usergroups = UserGroupCache(client)
        members = self.usergroups.members if self.usergroups is not None else (lambda group: set())
        cluster = parsed.request.cluster if parsed.request is not None else self.default_cluster(channel)
        decision = decide_access(policy, parsed.verb, cluster, channel, user, members)
        return None if decision.allowed else decision.message

    def default_cluster(self, channel_id: str) -> str:
        """The channel's cluster from the config file, else ``CLUSTERDOC_CLUSTER``."""
        channel = self.file_config.channels.get(channel_id)
        return channel.cluster if channel else self.settings.CLUSTERDOC_CLUSTER

    def parse(self, text: str, channel_id: str) -> ParsedCommand:
        return parse_command(
            text,
            default_cluster=self.default_cluster(channel_id),
            catalogue=self.catalogue,
            known_clusters=self.file_config.clusters,
        )


def root_blocks(text: str, status: str) -> list[Any]:
    """The root message: the request in a section, its status in a context line under it."""
    return [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ContextBlock(elements=[MarkdownTextObject(text=status)]),
    ]


def start_diagnosis(
    bot: BotContext, request: DiagnosisRequest, command: dict[str, Any], client: WebClient, respond: Respond
) -> None:
    """After the ack: check the queue, post the thread root, enqueue the job; tell the user what fails."""
    request = replace(request, requested_by=str(command.get("user_id", "")))
    channel = command["channel_id"]
    text = messages.root_text(request.runbook, request.target, command["user_id"], request.cluster)
    job_id = uuid.uuid4().hex
    short_id = job_id[:8]
    try:
        workers = listening_workers(bot.redis, request.cluster)  # also proves Redis answers, before any post
    except RedisError as exc:
        _queue_failed(bot, request, channel, exc, respond)
        return
    queue = queue_name(request.cluster)
    status = messages.root_working(short_id) if workers else messages.root_no_worker(short_id, queue)
    try:
        posted = client.chat_postMessage(
            channel=channel, text=text, blocks=root_blocks(text, status), unfurl_links=False, unfurl_media=False,
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error", "unknown_error"))
        log.warning("cannot post the root message in channel %s: %s", channel, error)
        bot.counters.command(verb_of(command), "root_failed")
        respond(text=messages.cannot_post_root(error, channel), response_type="ephemeral")
        return
    thread = ThreadRef(channel, str(posted["ts"]), root_text=text)
    try:
        enqueue_diagnosis(bot.redis, request, thread, bot.file_config.jobs, job_id=job_id)
    except RedisError as exc:
        _queue_failed(bot, request, channel, exc, respond)
        _update_root(client, thread, text, messages.root_queue_failed())
        return
    bot.counters.command(verb_of(command), "queued")
    metrics.JOBS_ENQUEUED.labels(runbook=metrics.label(request.runbook)).inc()
    log.info("queued job %s (%s) on %s for thread %s/%s", job_id, request.runbook, queue, channel, thread.ts)


def _queue_failed(bot: BotContext, request: DiagnosisRequest, channel: str, exc: RedisError, respond: Respond) -> None:
    log.error("cannot enqueue %s for channel %s: redis: %s", request.runbook, channel, exc)
    bot.counters.command(request.runbook if request.runbook in VERB_BY_NAME else "run", "queue_failed")
    respond(text=messages.queue_unreachable(request.runbook, request.target), response_type="ephemeral")


def _update_root(client: WebClient, thread: ThreadRef, text: str, status: str) -> None:
    try:
        client.chat_update(channel=thread.channel, ts=thread.ts, text=text, blocks=root_blocks(text, status))
    except SlackApiError as exc:
        log.warning("cannot update the root message in channel %s: %s", thread.channel, exc.response.get("error"))


def verb_of(command: dict[str, Any]) -> str:
    """The verb of a slash command for the metrics: a known verb, else ``unknown`` (never free text)."""
    words = str(command.get("text", "")).split(maxsplit=1)
    verb = words[0].lower() if words else "help"
    return verb if verb in VERB_BY_NAME else "unknown"


def register_listeners(app: App, bot: BotContext) -> None:
    """Attach the slash-command listener (any command name routes to the /k8s language)."""

    @app.command(re.compile(r"^/"))
    def slash_command(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        try:
            parsed = bot.parse(command.get("text", ""), command.get("channel_id", ""))
        except CommandError as exc:
            bot.counters.command(verb_of(command), "rejected")
            ack(text=str(exc), response_type="ephemeral")
            return
        if parsed.reply is not None:
            bot.counters.command(verb_of(command), "answered" if parsed.ok else "unavailable")
            ack(text=parsed.reply, response_type="ephemeral")
            return
        refused = bot.access_refusal(parsed, command.get("channel_id", ""), command.get("user_id", ""), client)
        if refused is not None:
            bot.counters.command(verb_of(command), "refused")
            ack(text=refused, response_type="ephemeral")
            return
        if parsed.verb == "audit":
            bot.counters.command("audit", "answered")
            ack(text=audit_reply(bot.redis, parsed.audit_count), response_type="ephemeral")
            return
        ack()
        assert parsed.request is not None
        bot.follow_ups.submit(_follow_up, bot, parsed.request, command, client, respond)


def _follow_up(
    bot: BotContext, request: DiagnosisRequest, command: dict[str, Any], client: WebClient, respond: Respond
) -> None:
    try:
        start_diagnosis(bot, request, command, client, respond)
    except Exception:  # never a traceback to the user; the log has it under the id
        error_id = uuid.uuid4().hex[:8]
        log.exception("slash command failed after ack [error %s]", error_id)
        bot.counters.command(verb_of(command), "error")
        respond(text=messages.internal_error(error_id), response_type="ephemeral")


class _ClientTokenNotice(logging.Filter):
    """Drops Bolt's start-up warning that ``SLACK_BOT_TOKEN`` is unused: our client carries that token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_BOLT_LOGGER = logging.getLogger("slack_bolt.App")
_BOLT_LOGGER.addFilter(_ClientTokenNotice())


def create_app(bot: BotContext, client: WebClient, *, token_verification: bool = True) -> App:
    """The Bolt app for ``bot``; ``client`` carries the bot token, base URL and retry handlers."""
    app = App(
        client=client,
        signing_secret=bot.settings.SLACK_SIGNING_SECRET or "",
        token_verification_enabled=token_verification,
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="bolt-listener"),
    )
    register_listeners(app, bot)
    register_approval_listeners(app, bot.redis, bot.follow_ups.submit)
    return app
