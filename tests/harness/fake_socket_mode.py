"""A fake Slack Socket Mode endpoint that ``slack_sdk``'s Socket Mode clients talk to unmodified.

Slack's side of the protocol, on a ``websockets`` server on 127.0.0.1:

* :meth:`FakeSocketModeServer.new_url` issues a ``ws://127.0.0.1:<port>/link/?ticket=...`` URL, as
  ``apps.connections.open`` does (:meth:`tests.harness.fake_slack.FakeSlackServer.serve_socket_mode`
  answers that method with it). Connections with an unknown ticket are refused with HTTP 401.
* Each accepted connection gets ``{"type": "hello", ...}`` first.
* Tests push envelopes (:meth:`push`, :meth:`push_slash_command`) to the newest open connection
  and wait for the client's acks (``{"envelope_id", "payload"?}``) with :meth:`wait_for_ack`.
* :meth:`send_disconnect` sends Slack's ``{"type": "disconnect"}`` warning; :meth:`drop` closes
  the connection with a close frame and no warning.
* Ping frames from the client are answered with pongs by ``websockets`` itself (RFC 6455).

``slack_sdk``'s builtin client speaks TLS only on port 443 (whatever the scheme), so a plain
``ws://`` URL on a free port is what it connects to here.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from tests.harness.http_fake import BackgroundServer

APP_ID = "A0CLUSTERDOC"
DEFAULT_TIMEOUT = 15.0

Params = dict[str, Any]


@dataclass
class SocketConnection:
    """One accepted WebSocket connection: its ticket, what the client sent, whether it is open."""

    number: int
    ticket: str
    websocket: ServerConnection
    received: list[Params] = field(default_factory=list)
    raw_received: list[str] = field(default_factory=list)
    hello_sent: bool = False
    open: bool = True
    close_code: int | None = None


class FakeSocketModeServer(BackgroundServer):
    """Slack's Socket Mode WebSocket endpoint, serving from construction on."""

    thread_name = "fake-socket-mode"
    join_timeout = 10.0

    def __init__(self, *, app_id: str = APP_ID) -> None:
        self.app_id = app_id
        self.connections: list[SocketConnection] = []
        self.acks: dict[str, Params] = {}
        self.refused: list[str] = []
        self._tickets: set[str] = set()
        self._numbers = itertools.count(1)
        self._triggers = itertools.count(1)
        self._lock = threading.Lock()
        self._condition = threading.Condition(self._lock)
        self._server: Server = serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._check_ticket,
            compression=None,
            ping_interval=None,  # the client pings; Slack's own pings are not needed for the tests
        )
        self.start()

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.socket.getsockname()[1])

    def _serve_forever(self) -> None:
        self._server.serve_forever()

    def _shutdown(self) -> None:
        self._server.shutdown()

    # -- what apps.connections.open hands out --------------------------------------------------

    def new_url(self) -> str:
        """A fresh WebSocket URL with its own ticket, as ``apps.connections.open`` returns."""
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    # -- test controls -------------------------------------------------------------------------

    def push(self, envelope_type: str, payload: Params, *, accepts_response_payload: bool = False,
             retry_attempt: int = 0, timeout: float = DEFAULT_TIMEOUT) -> str:
        """Send an envelope on the newest open connection (waiting for one); returns its envelope_id."""
        connection = self.wait_for_connection(timeout=timeout)
        envelope_id = f"{uuid.uuid4()}"
        envelope: Params = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": envelope_type,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": retry_attempt,
            "retry_reason": "",
        }
        connection.websocket.send(json.dumps(envelope))
        return envelope_id

    def push_slash_command(self, text: str, *, command: str = "/k8s", user_id: str = "U123",
                           user_name: str = "alice", channel_id: str = "C123", channel_name: str = "incidents",
                           response_url: str = "http://127.0.0.1:9/commands/T1/1/x", team_id: str = "T1",
                           timeout: float = DEFAULT_TIMEOUT) -> str:
        """Send a ``slash_commands`` envelope with the fields Slack puts in its payload."""
        payload = {
            "token": "verification-token-unused",
            "team_id": team_id,
            "team_domain": "clusterdoc-test",
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"{next(self._triggers)}.1.abcdef",
        }
        return self.push("slash_commands", payload, accepts_response_payload=True, timeout=timeout)

    def send_disconnect(self, reason: str = "refresh_requested") -> SocketConnection:
        """Slack's warning that it will close this connection soon; clients open a new one."""
        connection = self.wait_for_connection()
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        connection.websocket.send(json.dumps(message))
        return connection

    def drop(self, code: int = 1001, reason: str = "going away") -> SocketConnection:
        """Close the newest open connection from the server side, without a warning first."""
        connection = self.wait_for_connection()
        connection.websocket.close(code, reason)
        return connection

    # -- queries -------------------------------------------------------------------------------

    def open_connections(self) -> list[SocketConnection]:
        with self._lock:
            return [c for c in self.connections if c.open]

    def wait_for_connection(self, count: int = 1, timeout: float = DEFAULT_TIMEOUT) -> SocketConnection:
        """The newest open connection, once ``count`` connections were accepted in total."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                open_ones = [c for c in self.connections if c.open and c.hello_sent]
                if len(self.connections) >= count and open_ones:
                    return open_ones[-1]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"waited {timeout}s for connection #{count} (accepted {len(self.connections)}, "
                        f"open {len(open_ones)}, refused {len(self.refused)})"
                    )
                self._condition.wait(min(remaining, 0.1))

    def wait_for_ack(self, envelope_id: str, timeout: float = DEFAULT_TIMEOUT) -> Params:
        """The client's ack of ``envelope_id`` (``{"envelope_id", "payload"?}``); AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while envelope_id not in self.acks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"waited {timeout}s for the ack of envelope {envelope_id}")
                self._condition.wait(min(remaining, 0.1))
            return self.acks[envelope_id]

    # -- the server side -----------------------------------------------------------------------

    def _check_ticket(self, websocket: ServerConnection, request: Request) -> Response | None:
        query = parse_qs(urlsplit(request.path).query)
        ticket = (query.get("ticket") or [""])[0]
        with self._lock:
            known = ticket in self._tickets
            if not known:
                self.refused.append(request.path)
        if not known:
            return websocket.respond(HTTPStatus.UNAUTHORIZED, "invalid ticket\n")
        return None

    def _hello(self) -> str:
        with self._lock:
            open_count = sum(1 for c in self.connections if c.open)
        return json.dumps({
            "type": "hello",
            "num_connections": open_count,
            "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        })

    def _handle(self, websocket: ServerConnection) -> None:
        assert websocket.request is not None
        ticket = (parse_qs(urlsplit(websocket.request.path).query).get("ticket") or [""])[0]
        with self._condition:
            connection = SocketConnection(next(self._numbers), ticket, websocket)
            self.connections.append(connection)
        try:
            websocket.send(self._hello())
            with self._condition:
                connection.hello_sent = True
                self._condition.notify_all()
            for raw in websocket:
                text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
                try:
                    message = json.loads(text)
                except ValueError:
                    message = {}
                with self._condition:
                    connection.raw_received.append(text)
                    if isinstance(message, dict):
                        connection.received.append(message)
                        envelope_id = message.get("envelope_id")
                        if isinstance(envelope_id, str):
                            self.acks[envelope_id] = message
                    self._condition.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._condition:
                connection.open = False
                connection.close_code = websocket.close_code
                self._condition.notify_all()
