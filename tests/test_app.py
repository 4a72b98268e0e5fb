"""The Bolt app behind the HTTP routes: signed slash commands, acks, root messages and enqueueing.

Real Redis, the fake Slack Web API at the HTTP level, and the real Starlette app (through
Starlette's in-process test client). Every "nothing enqueued" check is made after a later,
valid command has been fully handled, so a stray enqueue from the bad one would be counted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from redis import Redis
from rq import Queue
from starlette.testclient import TestClient

from clusterdoc.bot.server import build
from clusterdoc.config import ConfigError, Settings, load_settings
from clusterdoc.queue import named_queue, worker_for
from clusterdoc.workers.runbook.loader import Catalogue
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.ports import free_port
from tests.harness.processes import wait_until
from tests.harness.signing import signed_headers, slash_command_body

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def make_settings(redis_url: str, fake_slack: FakeSlackServer, **extra: str) -> Settings:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake_slack.url,
        "REDIS_URL": redis_url,
        **extra,
    }
    return load_settings(env)


def queued(redis_url: str, cluster: str = "default") -> list[str]:
    """Ids of the jobs waiting on the cluster's queue."""
    return named_queue(Redis.from_url(redis_url), f"clusterdoc:{cluster}").job_ids


def all_queued(redis_url: str) -> int:
    connection = Redis.from_url(redis_url)
    return sum(queue.count for queue in Queue.all(connection=connection))


class SlashClient:
    """Posts slash commands to ``/slack/events`` of an in-process server, signed like Slack."""

    def __init__(self, client: TestClient, fake_slack: FakeSlackServer) -> None:
        self.client, self.fake_slack = client, fake_slack

    def post(self, text: str, *, channel: str = "C123", secret: str = SECRET, timestamp: int | None = None,
             response_url: str | None = None):  # type: ignore[no-untyped-def]
        body = slash_command_body(text=text, channel_id=channel,
                                  response_url=response_url or self.fake_slack.response_url())
        return self.client.post("/slack/events", content=body, headers=signed_headers(secret, body, timestamp))


@pytest.fixture
def stack(redis_url: str, fake_slack: FakeSlackServer) -> Iterator[SlashClient]:
    http_app, _bot, _start = build(make_settings(redis_url, fake_slack))
    with TestClient(http_app) as client:
        yield SlashClient(client, fake_slack)


def test_valid_command_is_acked_then_root_posted_and_job_enqueued(
    stack: SlashClient, fake_slack: FakeSlackServer, redis_url: str
) -> None:
    response = stack.post("describe web-0 -n shop")
    assert response.status_code == 200
    assert response.text == ""  # a plain ack: the answer comes in the thread
    root = fake_slack.wait_for("chat.postMessage", 1)[0]
    assert root.params["channel"] == "C123"
    assert root.params["text"] == "describe shop/web-0, asked by <@U123> · cluster default"
    assert "thread_ts" not in root.params
    wait_until(lambda: len(queued(redis_url)) == 1)
    job = named_queue(Redis.from_url(redis_url), "clusterdoc:default").fetch_job(queued(redis_url)[0])
    assert job is not None
    request, thread = job.args
    assert request["runbook"] == "describe"
    assert request["target"] == {"kind": "Pod", "namespace": "shop", "name": "web-0"}
    stored_root = fake_slack.posted_messages("C123")[0]
    assert thread == {"channel": "C123", "ts": stored_root["ts"], "root_text": stored_root["text"]}
    assert job.func_name == "clusterdoc.workers.jobs.diagnose"
    assert job.timeout == 180 and job.retries_left == 2 and job.retry_intervals == [10, 30]


def test_job_timeout_and_retry_come_from_the_config_file(
    redis_url: str, fake_slack: FakeSlackServer, tmp_path: Path
) -> None:
    config = tmp_path / "clusterdoc.yaml"
    config.write_text(
        "clusters: [prod, staging]\n"
        "channels:\n  C999: {cluster: staging}\n"
        "jobs: {timeout_seconds: 60, retries: 3, retry_intervals: [5, 10, 20]}\n"
    )
    http_app, _bot, _start = build(make_settings(redis_url, fake_slack, CLUSTERDOC_CONFIG=str(config)))
    with TestClient(http_app) as client:
        stack = SlashClient(client, fake_slack)
        assert stack.post("events deploy/web -n shop", channel="C999").status_code == 200
        assert stack.post("events deploy/web -n shop -c prod", channel="C999").status_code == 200
        wait_until(lambda: len(queued(redis_url, "staging")) == 1 and len(queued(redis_url, "prod")) == 1)
        unknown = stack.post("events deploy/web -c qa", channel="C999")
    assert "Unknown cluster `qa` (configured clusters: prod, staging)" in unknown.json()["text"]
    connection = Redis.from_url(redis_url)
    job = named_queue(connection, "clusterdoc:staging").fetch_job(queued(redis_url, "staging")[0])
    assert job is not None
    assert job.timeout == 60 and job.retries_left == 3 and job.retry_intervals == [5, 10, 20]
    roots = [call.params["text"] for call in fake_slack.calls_to("chat.postMessage")]
    assert "events deploy/web in shop, asked by <@U123> · cluster staging" in roots
    assert "events deploy/web in shop, asked by <@U123> · cluster prod" in roots


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("frobnicate web-0", ["Unknown command `frobnicate`", "Usage: `/k8s <verb>"]),
        ("describe Web_0 -n shop", ["Invalid pod name `Web_0`", "Usage: `/k8s describe"]),
        ("describe web-0 -n Shop!", ["Invalid namespace name `Shop!`", "Usage: `/k8s describe"]),
        ("help describe", ["Usage: `/k8s describe POD|KIND/NAME"]),
        ("runbooks", ["`describe` — ", "`events` — "]),
    ],
    ids=["unknown-verb", "invalid-pod-name", "invalid-namespace", "help", "runbooks"],
)
def test_answered_at_once_and_nothing_enqueued(
    stack: SlashClient, fake_slack: FakeSlackServer, redis_url: str, text: str, expected: list[str]
) -> None:
    response = stack.post(text)
    assert response.status_code == 200
    answer = response.json()
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    for fragment in expected:
        assert fragment in answer["text"]
    # a valid command afterwards: once it is queued, the queue holds exactly that one job
    stack.post("describe web-0 -n shop")
    wait_until(lambda: all_queued(redis_url) >= 1)
    assert all_queued(redis_url) == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_verb_without_runbook_answers_not_available(
    redis_url: str, fake_slack: FakeSlackServer
) -> None:
    http_app, bot, _start = build(make_settings(redis_url, fake_slack))
    bot.catalogue = Catalogue({name: book for name, book in bot.catalogue.runbooks.items() if name != "etcd"})
    with TestClient(http_app) as client:
        response = SlashClient(client, fake_slack).post("etcd")
    assert response.status_code == 200
    assert response.json()["text"] == "`/k8s etcd` is not available yet in this clusterdoc version."
    assert all_queued(redis_url) == 0
    assert fake_slack.calls_to("chat.postMessage") == []


@pytest.mark.parametrize(
    ("secret", "age_seconds"),
    [("wrong-secret", 0), (SECRET, 301), (SECRET, 3600)],
    ids=["bad-signature", "timestamp-5-minutes-old", "timestamp-an-hour-old"],
)
def test_unsigned_or_stale_requests_get_401_and_nothing_enqueued(
    stack: SlashClient, fake_slack: FakeSlackServer, redis_url: str, secret: str, age_seconds: int
) -> None:
    response = stack.post("describe web-0 -n shop", secret=secret, timestamp=int(time.time()) - age_seconds)
    assert response.status_code == 401
    stack.post("describe web-1 -n shop")
    wait_until(lambda: all_queued(redis_url) >= 1)
    assert all_queued(redis_url) == 1
    assert [c.params["text"] for c in fake_slack.calls_to("chat.postMessage")] == [
        "describe shop/web-1, asked by <@U123> · cluster default"
    ]


def test_root_that_cannot_be_posted_is_explained_via_response_url(
    stack: SlashClient, fake_slack: FakeSlackServer, redis_url: str
) -> None:
    # an empty channel id is what the fake answers with channel_not_found
    response = stack.post("describe web-0 -n shop", channel="")
    assert response.status_code == 200
    deadline = time.monotonic() + 10
    while not fake_slack.responses and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake_slack.responses, "nothing was posted to response_url"
    answer = fake_slack.responses[0]
    assert answer["response_type"] == "ephemeral"
    assert "I cannot post in this channel (channel_not_found)" in answer["text"]
    assert "/invite @clusterdoc" in answer["text"]
    assert all_queued(redis_url) == 0


def test_redis_down_tells_the_user_and_readyz_fails(fake_slack: FakeSlackServer) -> None:
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    http_app, _bot, _start = build(make_settings(dead_redis, fake_slack))
    with TestClient(http_app) as client:
        stack = SlashClient(client, fake_slack)
        assert stack.post("describe web-0 -n shop").status_code == 200
        deadline = time.monotonic() + 10
        while not fake_slack.responses and time.monotonic() < deadline:
            time.sleep(0.02)
        ready = client.get("/readyz")
        health = client.get("/healthz")
        metrics = client.get("/metrics").text
    assert fake_slack.responses, "the user was not told"
    assert "the job queue (Redis) is unreachable" in fake_slack.responses[0]["text"]
    assert "Nothing was queued" in fake_slack.responses[0]["text"]
    assert fake_slack.calls_to("chat.postMessage") == []  # no thread left waiting for a job that never came
    assert ready.status_code == 503
    assert ready.text.startswith("not ready: redis unreachable:")
    assert health.status_code == 200
    assert 'clusterdoc_slash_commands_total{outcome="queue_failed",verb="describe"} 1.0' in metrics
    assert "clusterdoc_redis_up 0" in metrics


def test_probes_and_metrics_with_redis_up(stack: SlashClient) -> None:
    assert stack.client.get("/healthz").text == "ok\n"
    ready = stack.client.get("/readyz")
    assert ready.status_code == 200 and ready.text == "ready\n"
    stack.post("nonsense")
    metrics = stack.client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'clusterdoc_slash_commands_total{outcome="rejected",verb="unknown"} 1.0' in metrics.text
    assert "clusterdoc_redis_up 1" in metrics.text
    assert "clusterdoc_alerts_received_total 0" in metrics.text


def test_root_says_whether_a_worker_listens(stack: SlashClient, fake_slack: FakeSlackServer, redis_url: str) -> None:
    stack.post("describe web-0 -n shop")
    idle = fake_slack.wait_for("chat.postMessage", 1)[0]
    assert "no worker is listening on `clusterdoc:default`" in str(idle.params["blocks"])
    connection = Redis.from_url(redis_url)
    worker = worker_for([named_queue(connection, "clusterdoc:default")], connection)
    worker.register_birth()
    try:
        stack.post("describe web-1 -n shop")
        busy = fake_slack.wait_for("chat.postMessage", 2)[1]
    finally:
        worker.register_death()
    assert "working on it… (job " in str(busy.params["blocks"])
    assert "no worker" not in str(busy.params["blocks"])


def test_socket_mode_serves_probes_but_not_slack_events(redis_url: str, fake_slack: FakeSlackServer) -> None:
    settings = make_settings(redis_url, fake_slack, SLACK_APP_TOKEN="xapp-1-test")
    http_app, _bot, _start = build(settings)  # not started: no Slack WebSocket endpoint here
    with TestClient(http_app) as client:
        body = slash_command_body(text="describe web-0")
        assert client.post("/slack/events", content=body, headers=signed_headers(SECRET, body)).status_code == 404
        ready = client.get("/readyz")
    assert ready.status_code == 503 and "socket mode not connected" in ready.text


def test_unreachable_slack_stops_start_up_with_one_line(redis_url: str, fake_slack: FakeSlackServer) -> None:
    closed = f"http://127.0.0.1:{free_port()}/api/"
    settings = make_settings(redis_url, fake_slack, SLACK_API_URL=closed, SLACK_BOT_TOKEN="xoxb-do-not-print-me")
    with pytest.raises(ConfigError) as caught:
        build(settings)
    message = str(caught.value)
    assert message.startswith(f"SLACK_API_URL: cannot reach Slack at {closed} to check SLACK_BOT_TOKEN (")
    assert "Connection refused" in message
    assert "\n" not in message and "do-not-print-me" not in message


def test_failed_token_check_stops_start_up_with_one_line(redis_url: str, fake_slack: FakeSlackServer) -> None:
    fake_slack.server_error("auth.test", times=1, status=500)
    settings = make_settings(redis_url, fake_slack, SLACK_BOT_TOKEN="xoxb-do-not-print-me")
    with pytest.raises(ConfigError) as caught:
        build(settings)
    assert str(caught.value) == "SLACK_BOT_TOKEN: Slack did not accept the token: auth.test failed (internal_error)"


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN is not set (needed to run the Slack app)"),
        ("SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET is not set (needed to verify requests from Slack; "
                                 "Socket Mode, with SLACK_APP_TOKEN, does without)"),
    ],
)
def test_missing_slack_setting_stops_start_up_naming_it(
    redis_url: str, fake_slack: FakeSlackServer, missing: str, message: str
) -> None:
    settings = make_settings(redis_url, fake_slack).model_copy(update={missing: None})
    with pytest.raises(ConfigError) as caught:
        build(settings)
    assert str(caught.value) == message
    assert fake_slack.calls == []  # stopped before talking to Slack


def test_form_body_is_what_slack_sends() -> None:
    fields = parse_qs(slash_command_body(text="describe web-0 -n shop").decode())
    assert fields["command"] == ["/k8s"] and fields["text"] == ["describe web-0 -n shop"]
