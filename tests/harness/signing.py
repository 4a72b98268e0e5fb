"""Sign requests exactly as Slack does, and build slash-command payloads as Slack sends them.

Slack's v0 scheme: ``X-Slack-Signature = "v0=" + hex(HMAC-SHA256(secret, "v0:{ts}:{body}"))``
with ``X-Slack-Request-Timestamp = ts`` (Unix seconds). Receivers reject timestamps more than
five minutes away from their clock.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

DEFAULT_RESPONSE_URL = "http://127.0.0.1:9/commands/T1/1234567890/abcdefghijklmnop"
"""Where ``response_url`` points when a test gives none: the loopback discard port, so code that
posts to it fails fast instead of reaching the internet. Pass ``fake_slack.response_url()`` to
record the posts."""


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Slack-Signature`` value for ``body`` sent at ``timestamp``."""
    base = b"v0:" + str(timestamp).encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The two signature headers for ``body``; ``timestamp`` defaults to now."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": signature(secret, body, ts)}


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """:func:`sign` plus the form ``Content-Type`` Slack sends with slash commands."""
    return {"Content-Type": "application/x-www-form-urlencoded", **sign(secret, body, timestamp)}


def slash_command_body(
    command: str = "/k8s",
    text: str = "",
    user_id: str = "U123",
    user_name: str = "alice",
    channel_id: str = "C123",
    response_url: str | None = None,
    team_id: str = "T1",
    trigger_id: str = "13345224609.738474920.8088930838d88f008e0",
    *,
    channel_name: str = "incidents",
    team_domain: str = "clusterdoc-test",
    api_app_id: str = "A0CLUSTERDOC",
    token: str = "verification-token-unused",
) -> bytes:
    """A slash-command POST body, form-encoded with the fields (and order) Slack uses."""
    fields = [
        ("token", token),
        ("team_id", team_id),
        ("team_domain", team_domain),
        ("channel_id", channel_id),
        ("channel_name", channel_name),
        ("user_id", user_id),
        ("user_name", user_name),
        ("command", command),
        ("text", text),
        ("api_app_id", api_app_id),
        ("is_enterprise_install", "false"),
        ("response_url", response_url or DEFAULT_RESPONSE_URL),
        ("trigger_id", trigger_id),
    ]
    return urlencode(fields).encode("ascii")
