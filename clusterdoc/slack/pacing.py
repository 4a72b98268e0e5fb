"""Slack calls paced per channel, with 429 and transient-error retries, and a list of what finally failed.

:class:`ChannelPacer` is a token bucket per channel kept in Redis (one Lua script), so the bot
and every worker share one budget per channel: about ``rate`` messages a second with a burst
of ``burst``. A 429 blocks the channel for its ``Retry-After`` for every process.
:class:`PacedWebClient` is slack_sdk's ``WebClient`` with every Web API call going through the
pacer, retrying 429 after ``Retry-After`` and server errors with backoff. :func:`deliver` runs
one call and, when it finally fails, logs the channel and method and keeps the call in the
Redis retry list (``RETRY_LIST``) instead of dropping it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from redis import Redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse

from clusterdoc.alert_config import PacingSettings

Answer = TypeVar("Answer")

log = logging.getLogger(__name__)

RETRY_LIST = "clusterdoc:slack:retry"
"""Calls that finally failed, as JSON ``{method, channel, payload, error, at}``, oldest first."""

PACE_PREFIX = "clusterdoc:pace:"
UPDATED_PREFIX = "clusterdoc:slack:updated:"
"""``<channel>:<ts>`` → when a ``chat.update`` of that message last went through (stale replays are skipped)."""
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
BACKOFF_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0)

# KEYS[1] bucket hash; ARGV: now (s), rate (/s), burst. Returns 0 when a token was taken, else ms to wait.
_TAKE_TOKEN = """
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'blocked_until')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
local blocked = tonumber(state[3]) or 0
if blocked > now then
  return math.ceil((blocked - now) * 1000)
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
if tokens >= 1 then
  redis.call('HSET', KEYS[1], 'tokens', tokens - 1, 'at', now)
  redis.call('EXPIRE', KEYS[1], 3600)
  return 0
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('EXPIRE', KEYS[1], 3600)
return math.ceil((1 - tokens) / rate * 1000)
"""


class ChannelBusy(SlackClientError):
    """The channel is blocked (``Retry-After``) for longer than the caller is willing to wait."""


class ChannelPacer:
    """A token bucket per channel in Redis, shared by every process that posts."""

    def __init__(
        self,
        redis: Redis,
        settings: PacingSettings,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.redis = redis
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self._take = redis.register_script(_TAKE_TOKEN)

    def acquire(self, channel: str, max_wait: float | None = None) -> float:
        """Wait until ``channel`` has a token and take it; returns the seconds waited.

        With ``max_wait``, a wait longer than that (and than two pacing intervals) raises :class:`ChannelBusy`
        instead of sleeping.
        """
        waited = 0.0
        while True:
            wait_ms = int(self._take(keys=[PACE_PREFIX + channel],
                                     args=[self.clock(), self.settings.rate, self.settings.burst]))
            if wait_ms <= 0:
                return waited
            if max_wait is not None and wait_ms / 1000 > max(max_wait, 2.0 / self.settings.rate):
                raise ChannelBusy(f"channel {channel} is blocked for {wait_ms / 1000:.1f} s more")
            self.sleep(wait_ms / 1000)
            waited += wait_ms / 1000

    def block(self, channel: str, seconds: float) -> None:
        """Slack said 429: no process posts to ``channel`` for ``seconds``."""
        key = PACE_PREFIX + channel
        self.redis.hset(key, mapping={"blocked_until": self.clock() + seconds, "tokens": 0, "at": self.clock()})
        self.redis.expire(key, 3600)


def _channel_of(*bodies: dict[str, Any] | None) -> str | None:
    for body in bodies:
        if body and isinstance(body.get("channel"), str):
            return str(body["channel"])
        if body and isinstance(body.get("channel_id"), str):
            return str(body["channel_id"])
    return None


def _retry_after(exc: SlackApiError) -> float:
    headers = exc.response.headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(float(value), 0.0) if value is not None else 1.0
    except (TypeError, ValueError):
        return 1.0


class PacedWebClient(WebClient):
    """``WebClient`` whose calls are paced per channel and retried on 429 and transient errors."""

    def __init__(self, *, pacer: ChannelPacer, max_wait_seconds: float | None = None, **kwargs: Any) -> None:
        """``max_wait_seconds``: raise :class:`ChannelBusy` rather than wait longer for one channel (the
        dispatcher, which serves every channel from one thread); None waits as long as Slack asks."""
        kwargs.setdefault("retry_handlers", [])  # no slack_sdk retries underneath: this class retries itself, and
        super().__init__(**kwargs)               # never re-sends a tagged post blindly after a dropped connection
        self.pacer = pacer
        self.max_wait_seconds = max_wait_seconds

    def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> SlackResponse:
        channel = _channel_of(json, data, params)
        settings = self.pacer.settings
        attempt = 0
        while True:
            attempt += 1
            if channel:
                self.pacer.acquire(channel, self.max_wait_seconds)
            try:
                return super().api_call(api_method, http_verb=http_verb, files=files, data=data, params=params,
                                        json=json, headers=headers, auth=auth)
            except SlackApiError as exc:
                status = exc.response.status_code
                error = str(exc.response.get("error", "")) if exc.response.data else ""
                if attempt >= settings.max_attempts:
                    raise
                if status == 429:
                    wait = min(_retry_after(exc), settings.max_retry_after_seconds)
                    log.warning("slack %s to channel %s: 429, retrying after %.1f s", api_method, channel, wait)
                    if channel:
                        self.pacer.block(channel, wait)
                    else:
                        self.pacer.sleep(wait)
                    continue
                if (status >= 500 or error in TRANSIENT_ERRORS) and _tagged(json, data):
                    raise  # the owner of a tagged post checks whether it arrived before posting again
                if status >= 500 or error in TRANSIENT_ERRORS:
                    self.pacer.sleep(BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)])
                    continue
                raise
            except (SlackClientError, OSError) as exc:
                if attempt >= settings.max_attempts or _tagged(json, data):
                    raise
                log.warning("slack %s to channel %s: %s, retrying", api_method, channel, type(exc).__name__)
                self.pacer.sleep(BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)])


def _tagged(json: dict[str, Any] | None, data: dict[str, Any] | None) -> bool:
    """The call carries message metadata: its sender can tell whether an unanswered post arrived
    (:mod:`clusterdoc.slack.publisher`), so an ambiguous failure is not retried blindly here."""
    return bool((json or {}).get("metadata") or (data or {}).get("metadata"))


def _error_text(exc: Exception) -> str:
    if isinstance(exc, SlackApiError) and exc.response is not None:
        return str(exc.response.get("error", "unknown_error")) if exc.response.data else "unknown_error"
    return type(exc).__name__


def deliver(redis: Redis, method: str, channel: str, payload: dict[str, Any],
            call: Callable[[], Answer], *, keep: bool = True) -> Answer | None:
    """Run one Slack call; on final failure log channel and method and return None.

    With ``keep`` the failed call goes to :data:`RETRY_LIST` for :func:`replay_failed`; callers
    that retry by other means (the dispatcher re-posts a missing incident root itself) pass False.
    """
    try:
        answer = call()
        _note_update(redis, method, payload)
        return answer
    except (SlackApiError, SlackClientError, OSError) as exc:
        error = _error_text(exc)
        where = f"kept in {RETRY_LIST}" if keep else "the caller retries it"
        log.error("slack %s to channel %s failed for good: %s (%s)", method, channel, error, where)
        if not keep:
            return None
        record = {"method": method, "channel": channel, "payload": payload, "error": error, "at": time.time()}
        redis.rpush(RETRY_LIST, json.dumps(record))
        return None


def _update_key(payload: dict[str, Any]) -> str:
    return f"{UPDATED_PREFIX}{payload.get('channel')}:{payload.get('ts')}"


def _note_update(redis: Redis, method: str, payload: dict[str, Any]) -> None:
    if method == "chat.update":
        redis.set(_update_key(payload), time.time(), ex=24 * 3600)


def _superseded(redis: Redis, record: dict[str, Any]) -> bool:
    """A kept ``chat.update`` older than one that went through since: replaying it would undo the newer edit."""
    if record["method"] != "chat.update":
        return False
    stamp = redis.get(_update_key(record["payload"]))
    return stamp is not None and float(stamp) >= float(record["at"])


def replay_failed(redis: Redis, client: WebClient, limit: int = 20) -> int:
    """Try the oldest failed calls again (at most ``limit``); returns how many went through.

    A kept ``chat.update`` is dropped when a newer edit of the same message went through since.
    """
    done = 0
    for _ in range(limit):
        raw = redis.lpop(RETRY_LIST)
        if raw is None:
            break
        record = json.loads(raw)
        if _superseded(redis, record):
            log.info("dropping a kept chat.update of %s in %s: a newer edit went through",
                     record["payload"].get("ts"), record["channel"])
            continue
        try:
            client.api_call(record["method"], json=record["payload"])
            _note_update(redis, record["method"], record["payload"])
        except (SlackApiError, SlackClientError, OSError) as exc:
            record["error"], record["at"] = _error_text(exc), time.time()
            redis.rpush(RETRY_LIST, json.dumps(record))
            break
        done += 1
    return done
