"""Members of Slack user groups (``usergroups.users.list``), cached for a while.

Policies name groups (``S0SREONCALL``) so on-call rotations need no config change. Each group is
fetched at most once per ``ttl`` seconds; when Slack fails, the last known members are used if
any, else the group counts as empty (deny by default) and the failure is logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)


class UserGroupCache:
    """``members(group_id)`` with a TTL cache in front of ``usergroups.users.list``."""

    def __init__(self, client: WebClient, ttl: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.client, self.ttl, self.clock = client, ttl, clock
        self._cache: dict[str, tuple[float, set[str]]] = {}
        self._lock = threading.Lock()
        self.fetches = 0

    def members(self, group: str) -> set[str]:
        now = self.clock()
        with self._lock:
            cached = self._cache.get(group)
            if cached and now - cached[0] < self.ttl:
                return cached[1]
        try:
            self.fetches += 1
            response = self.client.usergroups_users_list(usergroup=group)
            users = {str(user) for user in response.get("users") or []}
        except (SlackApiError, SlackClientError) as exc:
            log.warning("cannot list members of Slack user group %s: %s", group, exc)
            return cached[1] if cached else set()
        with self._lock:
            self._cache[group] = (now, users)
        return users
