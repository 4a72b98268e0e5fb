"""Slack posts tagged with message metadata, and finding them again when Slack's answer was lost.

A post that fails *ambiguously* (HTTP 5xx, or no answer at all) may have been stored all the same;
posting it again blindly can put a report part, or an incident's root, into Slack twice. A post
carrying ``metadata`` (``{"event_type": ..., "event_payload": {...}}``) can be looked for instead:
:func:`tagged_payloads` reads a thread (``conversations.replies``) or a channel
(``conversations.history``) with ``include_all_metadata`` and yields the payload and ``ts`` of each
message of one event type. :func:`call_slack` runs one call and says whether a failure is ambiguous;
:func:`post_tagged` posts, and after an ambiguous failure looks for the post before posting again.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from clusterdoc.slack.pacing import TRANSIENT_ERRORS

log = logging.getLogger(__name__)

POST_ATTEMPTS = 3
POST_BACKOFF_SECONDS = 0.5
Answer = TypeVar("Answer")


class PublishError(Exception):
    """A Slack call failed for good (after the client's own retries).

    ``ambiguous`` is True when Slack may have done it all the same (HTTP 5xx, an ``ok: false`` answer
    with ``internal_error``/``fatal_error``, or no answer).
    """

    def __init__(self, message: str, *, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous


def call_slack(method: str, channel: str, call: Callable[[], Any]) -> Any:
    """Run one Web API call; log a final failure with channel and method and raise :class:`PublishError`."""
    try:
        return call()
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown_error") if exc.response is not None else "unknown_error"
        status = exc.response.status_code if exc.response is not None else 0
        log.error("slack %s to channel %s failed: %s", method, channel, error)
        raise PublishError(f"slack {method} to channel {channel} failed: {error}",
                           ambiguous=status >= 500 or error in TRANSIENT_ERRORS) from exc
    except (SlackClientError, OSError) as exc:
        log.error("slack %s to channel %s failed: %s: %s", method, channel, type(exc).__name__, exc)
        raise PublishError(f"slack {method} to channel {channel} failed: {type(exc).__name__}",
                           ambiguous=True) from exc


def post_tagged(post: Callable[[], Answer], ambiguous: Callable[[Exception], bool],
                find: Callable[[], Answer | None], what: str) -> Answer:
    """``post()``; when it fails ``ambiguous``-ly, ``find()`` the post (Slack may have stored it) and return
    that, else post again — at most :data:`POST_ATTEMPTS` posts, backing off. Other failures, and the last
    ambiguous one, are raised."""
    for attempt in range(1, POST_ATTEMPTS + 1):
        try:
            return post()
        except Exception as exc:
            if not ambiguous(exc):
                raise
            found = find()
            if found is not None:
                log.warning("slack answered %s but stored %s: not posting it again", type(exc).__name__, what)
                return found
            if attempt == POST_ATTEMPTS:
                raise
            time.sleep(POST_BACKOFF_SECONDS * attempt)
    raise AssertionError("unreachable")


def tag(event_type: str, **payload: str | int | float) -> dict[str, Any]:
    """The ``metadata`` argument of ``chat.postMessage`` for a post that can be found again."""
    return {"event_type": event_type, "event_payload": payload}


def tagged_payloads(client: WebClient, sdk_method: str, params: dict[str, Any], event_type: str,
                    pages: int) -> Iterator[tuple[dict[str, Any], str]]:
    """``(event_payload, ts)`` of the messages tagged ``event_type`` that ``sdk_method`` lists, page by page.

    ``sdk_method`` is ``"conversations_replies"`` (``params`` name the thread) or
    ``"conversations_history"`` (newest first); at most ``pages`` pages of 200 are read. Raises
    :class:`PublishError` when Slack cannot be read (no ``channels:history``, Slack down).
    """
    channel = str(params.get("channel", ""))
    method = sdk_method.replace("_", ".")
    read_page = getattr(client, sdk_method)
    cursor = ""
    for _page in range(pages):
        query: dict[str, Any] = {**params, "include_all_metadata": True, "limit": 200,
                                 **({"cursor": cursor} if cursor else {})}
        answer = call_slack(method, channel, functools.partial(read_page, **query))
        for message in answer.get("messages") or []:
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == event_type:
                yield dict(metadata.get("event_payload") or {}), str(message.get("ts", ""))
        cursor = str((answer.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            return
