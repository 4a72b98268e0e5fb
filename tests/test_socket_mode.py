"""Socket Mode end to end: ``clusterdoc serve`` with ``SLACK_APP_TOKEN`` over a fake Slack WebSocket.

The real ``slack_sdk`` Socket Mode client (inside Bolt's ``SocketModeHandler``) opens its URL with
``apps.connections.open`` on the fake Web API, connects to :class:`FakeSocketModeServer`, gets
slash-command envelopes pushed to it and acks them; a burst ``clusterdoc worker`` then answers in
the thread from ``examples/taint-pending`` (pod shop/web-0 Pending on an untolerated
``dedicated=gpu`` taint). The first test checks the fake endpoint itself against the bare client.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis
from rq import Queue
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from clusterdoc.queue import named_queue
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.fake_slack import SlackApiError as FakeSlackError
from tests.harness.fake_socket_mode import FakeSocketModeServer
from tests.harness.ports import free_port
from tests.harness.processes import REPO_ROOT, ServeProcess, process_env, run_burst_worker, wait_until

APP_TOKEN = "xapp-1-A0CLUSTERDOC-1-socketmodetest"
BOT_TOKEN = "xoxb-socket-mode-test"
TIMEOUT = 30.0  # generous: the client's own reconnect check runs every 10 s
QUEUE = "clusterdoc:default"


def poll(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    wait_until(condition, what, timeout)


@pytest.fixture
def socket_mode(fake_slack: FakeSlackServer) -> Iterator[FakeSocketModeServer]:
    """The fake WebSocket endpoint, handed out by the fake Web API's ``apps.connections.open``."""
    with FakeSocketModeServer() as server:
        fake_slack.serve_socket_mode(server.new_url)
        yield server


# -- the fake endpoint against the bare slack_sdk client ---------------------------------------


def test_fake_endpoint_speaks_the_protocol_slack_sdk_expects(
    fake_slack: FakeSlackServer, socket_mode: FakeSocketModeServer
) -> None:
    with pytest.raises(SlackApiError) as refused:
        WebClient(base_url=fake_slack.url).apps_connections_open(app_token=BOT_TOKEN)
    assert refused.value.response["error"] == "not_allowed_token_type"

    received: list[SocketModeRequest] = []
    messages: list[str] = []
    got_request = threading.Event()

    def listener(client: SocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        got_request.set()
        client.send_socket_mode_response(SocketModeResponse(request.envelope_id, payload={"text": "hi"}))

    client = SocketModeClient(APP_TOKEN, web_client=WebClient(base_url=fake_slack.url), ping_interval=1,
                              on_message_listeners=[messages.append])
    client.socket_mode_request_listeners.append(listener)  # type: ignore[arg-type]
    try:
        client.connect()
        connection = socket_mode.wait_for_connection()
        assert client.is_connected()
        opened = fake_slack.calls_to("apps.connections.open")
        assert [call.token for call in opened] == [BOT_TOKEN, APP_TOKEN]  # the refused call above, then the client
        poll(lambda: bool(messages), "the hello message")
        assert json.loads(messages[0])["type"] == "hello"
        session = client.current_session
        assert session is not None
        poll(lambda: session.last_ping_pong_time is not None, "a pong to the client's ping")

        envelope_id = socket_mode.push_slash_command("describe web-0 -n shop")
        assert socket_mode.wait_for_ack(envelope_id) == {"envelope_id": envelope_id, "payload": {"text": "hi"}}
        assert got_request.wait(TIMEOUT)
        assert received[0].type == "slash_commands" and received[0].payload["text"] == "describe web-0 -n shop"
        assert connection.received == [{"envelope_id": envelope_id, "payload": {"text": "hi"}}]
    finally:
        client.close()

    forged = SocketModeClient(APP_TOKEN, web_client=WebClient(base_url=fake_slack.url), auto_reconnect_enabled=False)
    try:
        forged.wss_uri = f"ws://127.0.0.1:{socket_mode.port}/link/?ticket=forged"
        forged.connect()
        assert not forged.is_connected()
        assert socket_mode.refused == ["/link/?ticket=forged"]
    finally:
        forged.close()


# -- clusterdoc serve in Socket Mode -----------------------------------------------------------


class SocketModeServe(ServeProcess):
    """``clusterdoc serve`` in Socket Mode on a free port, ready once ``/readyz`` says connected."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env, ready_path="/readyz", timeout=TIMEOUT)


@pytest.fixture
def environment(redis_url: str, fake_slack: FakeSlackServer, socket_mode: FakeSocketModeServer) -> dict[str, str]:
    return process_env(
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=fake_slack.url,
        REDIS_URL=redis_url,
    )


@pytest.fixture
def serve(environment: dict[str, str]) -> Iterator[SocketModeServe]:
    running = SocketModeServe(environment)
    yield running
    running.stop()


def jobs(redis_url: str) -> Queue:
    return named_queue(Redis.from_url(redis_url), QUEUE)


def test_bad_command_is_acked_with_an_ephemeral_usage_answer(
    serve: SocketModeServe, socket_mode: FakeSocketModeServer, fake_slack: FakeSlackServer, redis_url: str
) -> None:
    envelope_id = socket_mode.push_slash_command("describe Web_0 -n shop", response_url=fake_slack.response_url())
    ack = socket_mode.wait_for_ack(envelope_id)
    assert ack["payload"]["response_type"] == "ephemeral"
    assert "Invalid pod name `Web_0`" in ack["payload"]["text"]
    assert jobs(redis_url).count == 0
    assert fake_slack.calls_to("chat.postMessage") == []
    assert [call.token for call in fake_slack.calls_to("apps.connections.open")] == [APP_TOKEN]


def test_command_over_socket_mode_travels_to_a_threaded_reply(
    serve: SocketModeServe, environment: dict[str, str], socket_mode: FakeSocketModeServer,
    fake_slack: FakeSlackServer, redis_url: str, examples_dir: Path
) -> None:
    envelope_id = socket_mode.push_slash_command("why-pending web-0 -n shop", response_url=fake_slack.response_url())
    assert socket_mode.wait_for_ack(envelope_id) == {"envelope_id": envelope_id}  # a plain ack, nothing to show

    root = fake_slack.wait_for("chat.postMessage", 1, timeout=TIMEOUT)[0]
    assert root.token == BOT_TOKEN
    assert root.params["channel"] == "C123"
    assert root.params["text"] == "why-pending shop/web-0, asked by <@U123> · cluster default"
    queue = jobs(redis_url)
    poll(lambda: queue.count == 1, f"a job on {QUEUE}")

    finished = run_burst_worker({**environment, "CLUSTERDOC_SNAPSHOT": str(examples_dir / "taint-pending")})
    assert finished.returncode == 0, finished.stderr
    assert queue.count == 0

    root_ts = fake_slack.posted_messages("C123")[0]["ts"]
    replies = fake_slack.thread(root_ts)
    assert replies, "the worker posted nothing in the thread"
    thread = "\n".join(str(reply.get("blocks", "")) + reply.get("text", "") for reply in replies)
    thread += "\n".join(upload.text for upload in fake_slack.files_in_thread(root_ts))
    assert "untolerated taint {dedicated: gpu}" in thread
    assert fake_slack.responses == []  # nothing went wrong, so nothing was said via response_url


def test_client_reconnects_after_the_server_closes_or_asks_it_to(
    serve: SocketModeServe, socket_mode: FakeSocketModeServer, fake_slack: FakeSlackServer
) -> None:
    first = socket_mode.wait_for_connection(1)
    socket_mode.drop()  # a close frame with no warning: the client's monitor notices and reconnects
    second = socket_mode.wait_for_connection(2, timeout=TIMEOUT)
    assert second is not first and second.hello_sent and second.ticket != first.ticket
    poll(lambda: not first.open, "the dropped connection to be closed")
    assert len(fake_slack.wait_for("apps.connections.open", 2, timeout=TIMEOUT)) == 2

    socket_mode.send_disconnect("refresh_requested")  # Slack's warning: the client opens a new one at once
    third = socket_mode.wait_for_connection(3, timeout=TIMEOUT)
    assert third is not second and third.hello_sent
    poll(lambda: not second.open, "the client to close the connection it was told to leave")
    assert all(call.token == APP_TOKEN for call in fake_slack.wait_for("apps.connections.open", 3))

    envelope_id = socket_mode.push_slash_command("describe Web_0 -n shop")
    assert "Invalid pod name `Web_0`" in socket_mode.wait_for_ack(envelope_id)["payload"]["text"]
    assert [message["envelope_id"] for message in third.received] == [envelope_id]
    poll(lambda: httpx.get(f"{serve.url}/readyz", timeout=2).status_code == 200, "ready after reconnecting")

    output = serve.stop()
    assert APP_TOKEN not in output and BOT_TOKEN not in output
    assert not any(connection.ticket in output for connection in socket_mode.connections)


def test_serve_keeps_trying_when_slack_fails_to_open_a_connection_at_start(
    environment: dict[str, str], socket_mode: FakeSocketModeServer, fake_slack: FakeSlackServer
) -> None:
    failures = iter(range(2))

    def flaky_url() -> str:
        if next(failures, None) is not None:
            raise FakeSlackError("internal_error")
        return socket_mode.new_url()

    fake_slack.serve_socket_mode(flaky_url)
    running = SocketModeServe(environment)  # returns once /readyz says connected
    try:
        connection = socket_mode.wait_for_connection(1)
        assert connection.hello_sent
        assert len(fake_slack.calls_to("apps.connections.open")) == 3
        envelope_id = socket_mode.push_slash_command("describe Web_0 -n shop")
        assert socket_mode.wait_for_ack(envelope_id)["payload"]["response_type"] == "ephemeral"
    finally:
        output = running.stop()
    assert "internal_error" in output  # the failed attempts are logged


def test_serve_stops_at_start_when_slack_rejects_the_app_token(
    environment: dict[str, str], fake_slack: FakeSlackServer
) -> None:
    def rejected() -> str:
        raise FakeSlackError("invalid_auth")

    fake_slack.serve_socket_mode(rejected)
    result = subprocess.run(
        [sys.executable, "-m", "clusterdoc", "serve", "--host", "127.0.0.1", "--port", str(free_port())],
        cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "clusterdoc: SLACK_APP_TOKEN: Slack rejected the app-level token (invalid_auth)"
    )
    assert "Traceback" not in result.stderr and APP_TOKEN not in result.stderr
    assert len(fake_slack.calls_to("apps.connections.open")) == 1
