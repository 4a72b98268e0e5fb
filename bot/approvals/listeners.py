"""The Bolt listeners for Approve and Dismiss: acknowledge at once, enqueue, nothing else.

The click is acknowledged before anything else happens; then (in the app's follow-up pool) the
pending action's cluster is read from Redis and :func:`clusterdoc.workers.approvals.jobs.handle_click` is
enqueued on that cluster's queue, where the decision and the execution happen. An unknown or
already-removed offer is answered ephemerally right away.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from slack_bolt import Ack, App, Respond

from clusterdoc.approvals.blocks import APPROVE_ACTION_ID, DISMISS_ACTION_ID
from clusterdoc.approvals.store import PendingStore
from clusterdoc.queue import Click, enqueue_click

log = logging.getLogger(__name__)

Submit = Callable[..., Any]


def click_from(body: Any, kind: str) -> Click:
    """The :class:`Click` in a ``block_actions`` payload (only the opaque id is read from the button).

    Never raises: whatever shape the payload has, missing or mistyped parts read as empty, and an
    empty pending id is answered as an unknown offer.
    """
    body = body if isinstance(body, dict) else {}
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    channel = _field(body.get("channel"), "id") or _field(body.get("container"), "channel_id")
    return Click(_text(action.get("value")), _field(body.get("user"), "id"), kind, channel)  # type: ignore[arg-type]


def _field(part: Any, key: str) -> str:
    return _text(part.get(key)) if isinstance(part, dict) else ""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def submit_click(connection: Redis, click: Click, respond: Respond) -> None:
    """Find the pending action's cluster and queue the click there."""
    try:
        pending = PendingStore(connection).get(click.pending_id) if click.pending_id else None
        if pending is None:
            respond(text="This button is no longer valid (the offer is unknown).", response_type="ephemeral",
                    replace_original=False)
            return
        enqueue_click(connection, pending.cluster, click,
                      description=f"{click.kind} {pending.action} {pending.target_text()}")
    except RedisError as exc:
        log.error("cannot queue a %s click on %s: %s", click.kind, click.pending_id, exc)
        respond(text=":x: The approval queue is unreachable right now; nothing was run. Try again in a minute.",
                response_type="ephemeral", replace_original=False)
    except Exception:  # never a traceback to the user
        error_id = uuid.uuid4().hex[:8]
        log.exception("approval click failed after ack [error %s]", error_id)
        respond(text=f":x: Something went wrong (error id `{error_id}`); nothing was run.",
                response_type="ephemeral", replace_original=False)


def register_approval_listeners(app: App, connection: Redis, submit: Submit) -> None:
    """Attach the Approve/Dismiss action listeners; ``submit`` runs work after the ack (a thread pool)."""

    @app.action(APPROVE_ACTION_ID)
    def approve(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        submit(submit_click, connection, click_from(body, "approve"), respond)

    @app.action(DISMISS_ACTION_ID)
    def dismiss(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        submit(submit_click, connection, click_from(body, "dismiss"), respond)
