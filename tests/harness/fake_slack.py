"""A fake Slack Web API that ``slack_sdk.WebClient`` talks to unmodified, recording every call.

Point ``WebClient(base_url=server.url)`` (or ``SLACK_API_URL``) at it. It speaks
``POST /api/<method>`` with form-encoded, JSON or multipart bodies (and query parameters, which
``slack_sdk`` uses for GET-style methods), answers the methods clusterdoc uses with realistic
payloads, runs the files-upload v2 flow (the upload URL points back here), serves
``response_url`` endpoints, and can answer 429 with ``Retry-After`` on demand.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.harness.http_fake import HTTPFake, QuietHandler, QuietHTTPServer

BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
TEAM_ID = "T1"
TEAM_DOMAIN = "clusterdoc-test"
FIRST_TS = 1732700000
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
"""Methods that take the app-level ``xapp-`` token, and only it (Slack refuses it elsewhere)."""
JSON_FIELDS = ("blocks", "attachments", "files", "metadata", "users", "channels")
"""Parameters that Slack takes as JSON-in-a-form-field; decoded so tests see the same shape
whether the client sent JSON or a form."""

Params = dict[str, Any]

SESSION_METHODS: set[str] = set()
"""Every Web API method any fake Slack answered (not 429) in this test process: the session's record,
compared with slack/scopes.yaml and the manifests at the end of the session (tests/conftest.py)."""


@dataclass
class SlackCall:
    """One Web API call: the method, its parameters (query + body) and the request headers."""

    method: str
    params: Params
    headers: dict[str, str]
    status: int = 200
    time: float = field(default_factory=time.monotonic)

    @property
    def token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth[len("Bearer ") :] if auth.startswith("Bearer ") else self.params.get("token")


class ResponsePost(dict[str, Any]):
    """A JSON payload POSTed to a ``response_url``; a dict, plus where it went and its headers."""

    def __init__(self, payload: Params, url: str, headers: dict[str, str]) -> None:
        super().__init__(payload)
        self.url = url
        self.headers = headers

    @property
    def payload(self) -> Params:
        return dict(self)


@dataclass
class UploadedFile:
    """A file sent through the upload v2 flow; ``channel``/``thread_ts`` set once completed."""

    file_id: str
    filename: str
    length: int
    content: bytes = b""
    title: str = ""
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class SlackApiError(Exception):
    """An ``ok: false`` answer."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error, self.extra = error, extra


# -- HTTP side ------------------------------------------------------------------------------------


class _HTTPServer(QuietHTTPServer):
    fake: FakeSlackServer


class _Handler(QuietHandler):
    server: _HTTPServer

    def _handle(self) -> None:
        body = self._read_body()
        headers = {name: value for name, value in self.headers.items()}
        status, payload, extra_headers = self.server.fake.handle(self.command, self.path, headers, body)
        content_type = "text/plain; charset=utf-8"
        if not isinstance(payload, bytes):
            payload, content_type = json.dumps(payload).encode(), "application/json; charset=utf-8"
        self._send_reply(status, payload, content_type, extra_headers.items())

    do_GET = _handle
    do_POST = _handle


def parse_params(query: str, headers: dict[str, str], body: bytes) -> Params:
    """Query and body parameters of a Web API request, JSON-valued fields decoded."""
    params: Params = dict(parse_qsl(query, keep_blank_values=True))
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if body and content_type.startswith("application/json"):
        decoded = json.loads(body)
        if isinstance(decoded, dict):
            params.update(decoded)
    elif body and content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                params[str(name)] = payload
            else:
                params[str(name)] = payload.decode("utf-8", "replace")
    elif body:
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for key in JSON_FIELDS:
        value = params.get(key)
        if isinstance(value, str) and value[:1] in "[{":
            try:
                params[key] = json.loads(value)
            except ValueError:
                pass
    return params


Handler = Callable[[Params], Params]


class FakeSlackServer(HTTPFake):
    """The fake Slack Web API, serving from construction on; ``url`` ends with ``/api/``."""

    thread_name = "fake-slack"

    def __init__(self) -> None:
        self.calls: list[SlackCall] = []
        self.session_record = True
        """False for tests of this fake itself, whose calls are not clusterdoc's (SESSION_METHODS)."""
        self.responses: list[ResponsePost] = []
        self.messages: dict[tuple[str, str], Params] = {}
        self.uploads: dict[str, UploadedFile] = {}
        self.users: dict[str, Params] = {}
        self.usergroups: dict[str, list[str]] = {}
        self._rate_limits: dict[str, list[float]] = {}
        self._server_errors: dict[str, list[int]] = {}
        self._errors_after_delivery: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._condition = threading.Condition(self._lock)
        self._ts_counter = itertools.count(1)
        self._file_counter = itertools.count(1)
        self._response_counter = itertools.count(1)
        self._methods: dict[str, Handler] = {
            "api.test": lambda params: {"args": {k: v for k, v in params.items() if k != "token"}},
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.getPermalink": self._permalink,
            "conversations.replies": self._replies,
            "conversations.history": self._history,
            "chat.postEphemeral": self._post_ephemeral,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroup_users,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }
        self.add_user("U123", "alice", real_name="Alice Example")
        self._bind(_HTTPServer(self, ("127.0.0.1", 0), _Handler))

    # -- lifecycle (start/stop/port/base: HTTPFake) --------------------------------------------

    @property
    def url(self) -> str:
        """The Web API base URL for ``WebClient(base_url=...)``."""
        return f"{self.base}/api/"

    # -- test controls and queries -------------------------------------------------------------

    def add_user(self, user_id: str, name: str, **fields: Any) -> None:
        """Make ``users.info`` know ``user_id`` (extra fields go into the user object)."""
        real_name = fields.pop("real_name", name.title())
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "deleted": False,
            "real_name": real_name,
            "tz": "Europe/London",
            "is_bot": False,
            "is_admin": False,
            "profile": {"real_name": real_name, "display_name": name, "team": TEAM_ID},
            **fields,
        }

    def set_usergroup(self, group_id: str, members: list[str]) -> None:
        """The members ``usergroups.users.list`` returns for ``group_id``."""
        self.usergroups[group_id] = list(members)

    def serve_socket_mode(self, issue_url: Callable[[], str]) -> None:
        """Answer ``apps.connections.open`` with a WebSocket URL from ``issue_url`` (one per call)."""
        self._methods["apps.connections.open"] = lambda params: {"url": issue_url()}

    def rate_limit(self, method: str, times: int = 1, retry_after: float = 1) -> None:
        """The next ``times`` calls to ``method`` answer HTTP 429 with ``Retry-After``."""
        with self._lock:
            self._rate_limits.setdefault(method, []).extend([retry_after] * times)

    def server_error(self, method: str, times: int = 1, status: int = 500) -> None:
        """The next ``times`` calls to ``method`` answer HTTP ``status`` with ``internal_error``."""
        with self._lock:
            self._server_errors.setdefault(method, []).extend([status] * times)

    def fail_after_delivery(self, method: str, times: int = 1, status: int = 500) -> None:
        """The next ``times`` calls to ``method`` do their work (the message is stored) and then
        answer HTTP ``status`` with ``internal_error``: the answer is lost, the effect is not."""
        with self._lock:
            self._errors_after_delivery.setdefault(method, []).extend([status] * times)

    def response_url(self) -> str:
        """A fresh ``response_url`` on this server; POSTs to it land in :attr:`responses`."""
        return f"{self.base}/response/{next(self._response_counter)}"

    def calls_to(self, method: str, *, include_rate_limited: bool = False) -> list[SlackCall]:
        """Calls to ``method`` that were answered normally (add the 429-ed ones on request)."""
        with self._lock:
            return [c for c in self.calls if c.method == method and (include_rate_limited or c.status != 429)]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[SlackCall]:
        """Block until ``count`` calls to ``method`` were answered; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                found = [c for c in self.calls if c.method == method and c.status != 429]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = sorted({c.method for c in self.calls})
                    raise AssertionError(
                        f"waited {timeout}s for {count} call(s) to {method}, got {len(found)}; methods seen: {seen}"
                    )
                self._condition.wait(min(remaining, 0.1))

    def wait_for_responses(self, count: int = 1, timeout: float = 10.0) -> list[ResponsePost]:
        """Block until ``count`` posts reached ``response_url`` endpoints; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.responses) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = len(self.responses)
                    raise AssertionError(f"waited {timeout}s for {count} response_url post(s), got {got}")
                self._condition.wait(min(remaining, 0.1))
            return list(self.responses)

    def posted_messages(self, channel: str | None = None) -> list[Params]:
        """Messages posted with ``chat.postMessage`` (as stored, updates applied), oldest first."""
        with self._lock:
            return [m for (ch, _), m in sorted(self.messages.items(), key=lambda kv: kv[0][1])
                    if channel is None or ch == channel]

    def thread(self, thread_ts: str) -> list[Params]:
        """Replies posted in the thread rooted at ``thread_ts`` (not the root), oldest first."""
        return [m for m in self.posted_messages() if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts]

    def files_in_thread(self, thread_ts: str) -> list[UploadedFile]:
        """Completed uploads shared into the thread rooted at ``thread_ts``."""
        with self._lock:
            return [f for f in self.uploads.values() if f.completed and f.thread_ts == thread_ts]

    def reset(self) -> None:
        """Forget calls, messages, uploads, responses and pending rate limits."""
        with self._lock:
            self.calls.clear()
            self.responses.clear()
            self.messages.clear()
            self.uploads.clear()
            self._rate_limits.clear()
            self._server_errors.clear()
            self._errors_after_delivery.clear()

    # -- request handling ----------------------------------------------------------------------

    def handle(self, verb: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, dict[str, str]]:
        """Status, JSON-able payload (or bytes) and headers for one HTTP request."""
        parts = urlsplit(raw_path)
        path = parts.path
        if path.startswith("/upload/v1/"):
            return self._upload(path.rsplit("/", 1)[-1], body)
        if path.startswith("/response/") and verb == "POST":
            payload = json.loads(body) if body else {}
            with self._condition:
                self.responses.append(ResponsePost(payload, f"{self.base}{path}", headers))
                self._condition.notify_all()
            return 200, b"ok", {}
        if not path.startswith("/api/"):
            return 404, b"not found", {}
        method = path[len("/api/") :]
        try:
            params = parse_params(parts.query, headers, body)
        except ValueError:
            params = {}
        call = SlackCall(method, params, headers)
        with self._condition:
            pending = self._rate_limits.get(method)
            retry_after = pending.pop(0) if pending else None
            if retry_after is not None:
                call.status = 429
            self.calls.append(call)
            if retry_after is None and self.session_record:
                SESSION_METHODS.add(method)
            self._condition.notify_all()
        if retry_after is not None:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": f"{retry_after:g}"}
        with self._lock:
            failures = self._server_errors.get(method)
            failure = failures.pop(0) if failures else None
        if failure is not None:
            call.status = failure
            return failure, {"ok": False, "error": "internal_error"}, {}
        handler = self._methods.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        if method != "api.test" and not call.token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if call.token and method != "api.test" and (method in APP_TOKEN_METHODS) != call.token.startswith("xapp-"):
            return 200, {"ok": False, "error": "not_allowed_token_type"}, {}
        try:
            answer = {"ok": True, **handler(params)}
        except SlackApiError as exc:
            return 200, {"ok": False, "error": exc.error, **exc.extra}, {}
        with self._lock:
            lost = self._errors_after_delivery.get(method)
            lost_status = lost.pop(0) if lost else None
        if lost_status is not None:
            call.status = lost_status
            return lost_status, {"ok": False, "error": "internal_error"}, {}
        return 200, answer, {}

    def _next_ts(self) -> str:
        micros = next(self._ts_counter) * 100
        return f"{FIRST_TS + micros // 1_000_000}.{micros % 1_000_000:06d}"

    # -- methods -------------------------------------------------------------------------------

    def _auth_test(self, params: Params) -> Params:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_DOMAIN,
            "user": "clusterdoc",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    @staticmethod
    def _require(params: Params, *names: str) -> None:
        for name in names:
            if not params.get(name):
                raise SlackApiError("channel_not_found" if name == "channel" else "invalid_arguments")

    def _message(self, params: Params, ts: str) -> Params:
        message: Params = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": "A0CLUSTERDOC",
            "team": TEAM_ID,
            "text": params.get("text", ""),
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if params.get(key):
                message[key] = params[key]
        return message

    def _post_message(self, params: Params) -> Params:
        self._require(params, "channel")
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            raise SlackApiError("no_text")
        channel = str(params["channel"])
        with self._lock:
            ts = self._next_ts()
            message = self._message(params, ts)
            message["channel"] = channel
            self.messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": {k: v for k, v in message.items() if k != "channel"}}

    def _replies(self, params: Params) -> Params:
        """``conversations.replies``: the root, then its replies, oldest first; ``metadata`` only with
        ``include_all_metadata``; pages of ``limit`` (default 15 here, to exercise paging) by ``cursor``."""
        self._require(params, "channel", "ts")
        channel, root = str(params["channel"]), str(params["ts"])
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        with self._lock:
            if (channel, root) not in self.messages:
                raise SlackApiError("thread_not_found")
            found = [dict(m) for (ch, ts), m in sorted(self.messages.items(), key=lambda kv: kv[0][1])
                     if ch == channel and (ts == root or m.get("thread_ts") == root)]
        return self._page(found, params, with_metadata)

    def _history(self, params: Params) -> Params:
        """``conversations.history``: the channel's messages that are not thread replies, newest first;
        ``oldest``/``latest`` bound the ts (exclusive); ``metadata`` only with ``include_all_metadata``;
        pages of ``limit`` (default 15 here, to exercise paging) by ``cursor``."""
        self._require(params, "channel")
        channel = str(params["channel"])
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        oldest, latest = float(params.get("oldest") or 0), float(params.get("latest") or "inf")
        with self._lock:
            found = [dict(m) for (ch, ts), m in sorted(self.messages.items(), key=lambda kv: kv[0][1], reverse=True)
                     if ch == channel and m.get("thread_ts", ts) == ts and oldest < float(ts) < latest]
        return self._page(found, params, with_metadata)

    @staticmethod
    def _page(found: list[Params], params: Params, with_metadata: bool) -> Params:
        for message in found:
            message.pop("channel", None)
            if not with_metadata:
                message.pop("metadata", None)
        limit = int(params.get("limit") or 15)
        start = int(params.get("cursor") or 0)
        page = found[start:start + limit]
        more = start + limit < len(found)
        return {"messages": page, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _update(self, params: Params) -> Params:
        self._require(params, "channel", "ts")
        channel, ts = str(params["channel"]), str(params["ts"])
        with self._lock:
            old = self.messages.get((channel, ts))
            if old is None:
                raise SlackApiError("message_not_found")
            updated = {**old, **self._message(params, ts), "edited": {"user": BOT_USER_ID, "ts": self._next_ts()}}
            if old.get("thread_ts"):
                updated["thread_ts"] = old["thread_ts"]
            self.messages[(channel, ts)] = updated
        message = {k: v for k, v in updated.items() if k not in ("channel", "ts")}
        return {"channel": channel, "ts": ts, "text": updated.get("text", ""), "message": message}

    def _permalink(self, params: Params) -> Params:
        self._require(params, "channel", "message_ts")
        channel, ts = str(params["channel"]), str(params["message_ts"])
        with self._lock:
            message = self.messages.get((channel, ts))
        if message is None:
            raise SlackApiError("message_not_found")
        link = f"{self.base}/archives/{channel}/p{ts.replace('.', '')}"
        if message.get("thread_ts"):
            link += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def _post_ephemeral(self, params: Params) -> Params:
        self._require(params, "channel", "user")
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            raise SlackApiError("no_text")
        with self._lock:
            return {"message_ts": self._next_ts()}

    def _users_info(self, params: Params) -> Params:
        user = self.users.get(str(params.get("user", "")))
        if user is None:
            raise SlackApiError("user_not_found")
        return {"user": user}

    def _usergroup_users(self, params: Params) -> Params:
        members = self.usergroups.get(str(params.get("usergroup", "")))
        if members is None:
            raise SlackApiError("no_such_subteam")
        return {"users": list(members)}

    def _get_upload_url(self, params: Params) -> Params:
        self._require(params, "filename", "length")
        try:
            length = int(params["length"])
        except ValueError as exc:
            raise SlackApiError("invalid_arguments") from exc
        with self._lock:
            file_id = f"F{next(self._file_counter):08d}"
            self.uploads[file_id] = UploadedFile(file_id, str(params["filename"]), length)
        return {"upload_url": f"{self.base}/upload/v1/{file_id}", "file_id": file_id}

    def _upload(self, file_id: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        with self._condition:
            upload = self.uploads.get(file_id)
            if upload is None:
                return 404, b"unknown upload", {}
            upload.content = body
            self._condition.notify_all()
        return 200, f"OK - {len(body)}".encode(), {}

    def _complete_upload(self, params: Params) -> Params:
        files = params.get("files")
        if not isinstance(files, list) or not files:
            raise SlackApiError("invalid_arguments")
        shared: list[Params] = []
        channel = params.get("channel_id") or (str(params.get("channels", "")).split(",")[0] or None)
        with self._lock:
            for item in files:
                upload = self.uploads.get(str(item.get("id", "")))
                if upload is None or len(upload.content) != upload.length:
                    raise SlackApiError("file_not_found" if upload is None else "file_upload_size_mismatch")
                upload.title = str(item.get("title") or upload.filename)
                upload.channel = channel
                upload.thread_ts = params.get("thread_ts") or None
                upload.initial_comment = params.get("initial_comment") or None
                upload.completed = True
                shared.append(
                    {
                        "id": upload.file_id,
                        "name": upload.filename,
                        "title": upload.title,
                        "size": upload.length,
                        "mimetype": "text/plain",
                        "user": BOT_USER_ID,
                    }
                )
        return {"files": shared}
