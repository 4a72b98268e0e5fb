"""Who may post alerts: ``Authorization: Bearer $ALERTS_TOKEN`` or HTTP basic auth with that token.

Alertmanager's ``http_config.authorization`` sends the bearer form; ``http_config.basic_auth``
sends the basic form, whose password must be the token (and whose user name, when configured,
must match). Comparisons take constant time; the token never appears in a message or a log.
"""

from __future__ import annotations

import base64
import binascii
import hmac


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def authorized(header: str | None, token: str, basic_user: str | None = None) -> bool:
    """Whether the ``Authorization`` header carries ``token`` (bearer, or basic with it as password)."""
    if not header or not token:
        return False
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return _same(credentials, token)
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, separator, password = decoded.partition(":")
        if not separator:
            return False
        user_ok = basic_user is None or _same(user, basic_user)
        return _same(password, token) and user_ok
    return False
