"""End to end: a signed /k8s command to a running ``clusterdoc serve``, a burst ``clusterdoc worker``,
and the findings in the Slack thread.

Both processes are started the way an operator starts them (``python -m clusterdoc serve`` and
``python -m clusterdoc worker --burst``), against a real redis-server, the fake Slack Web API and
the fake Kubernetes API server serving ``examples/taint-pending`` (pod shop/web-0 Pending on an
untolerated ``dedicated=gpu`` taint).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis
from rq import Queue

from clusterdoc.queue import named_queue
from clusterdoc.workers.runbook.loader import Catalogue
from tests.conftest import FakeKubeFactory
from tests.harness.fake_kube import write_kubeconfig
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.processes import ServeProcess, process_env, run_burst_worker, wait_until
from tests.harness.signing import signed_headers, slash_command_body

SECRET = "e2e-signing-secret-0123456789abcdef"
CLIENT_TIMEOUT = 3.0  # Slack gives up on an ack after 3 s


@pytest.fixture
def environment(redis_url: str, fake_slack: FakeSlackServer, fake_kube: FakeKubeFactory, examples_dir: Path,
                tmp_path: Path) -> dict[str, str]:
    kube = fake_kube(examples_dir / "taint-pending")
    return process_env(
        SLACK_BOT_TOKEN="xoxb-e2e-token",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_slack.url,
        REDIS_URL=redis_url,
        KUBECONFIG=str(write_kubeconfig(tmp_path / "kubeconfig", kube.url)),
    )


@pytest.fixture
def server(environment: dict[str, str]) -> Iterator[ServeProcess]:
    running = ServeProcess(environment)
    yield running
    running.stop()


def post_command(server: ServeProcess, text: str, response_url: str, *, timestamp: int | None = None,
                 secret: str = SECRET) -> httpx.Response:
    body = slash_command_body(text=text, user_id="U123", channel_id="C123", response_url=response_url)
    return httpx.post(f"{server.url}/slack/events", content=body, headers=signed_headers(secret, body, timestamp),
                      timeout=CLIENT_TIMEOUT)


def wait_for_queue(redis_url: str, count: int, timeout: float = 10.0) -> Queue:
    queue = named_queue(Redis.from_url(redis_url), "clusterdoc:default")
    wait_until(lambda: queue.count >= count, f"{count} job(s) on {queue.name}", timeout)
    return queue


def pending_command() -> tuple[str, str]:
    """``why-pending`` once its runbook ships; until then ``describe``, which shows the same evidence."""
    if Catalogue.load().get("why-pending") is not None:
        return "why-pending web-0 -n shop", "why-pending"
    return "describe web-0 -n shop", "describe"


def test_signed_command_travels_to_a_threaded_reply(
    server: ServeProcess, environment: dict[str, str], fake_slack: FakeSlackServer, redis_url: str
) -> None:
    command, runbook = pending_command()
    stale = post_command(server, command, fake_slack.response_url(), timestamp=int(time.time()) - 6 * 60)
    assert stale.status_code == 401

    response = post_command(server, command, fake_slack.response_url())
    assert response.status_code == 200

    root = fake_slack.wait_for("chat.postMessage", 1)[0]
    assert root.params["text"] == f"{runbook} shop/web-0, asked by <@U123> · cluster default"
    queue = wait_for_queue(redis_url, 1)
    assert queue.count == 1  # the stale request enqueued nothing

    finished = run_burst_worker(environment)
    assert finished.returncode == 0, finished.stderr
    assert queue.count == 0

    root_ts = fake_slack.posted_messages("C123")[0]["ts"]
    replies = fake_slack.thread(root_ts)
    assert replies, "the worker posted nothing in the thread"
    thread = "\n".join(str(reply.get("blocks", "")) + reply.get("text", "") for reply in replies)
    thread += "\n".join(upload.text for upload in fake_slack.files_in_thread(root_ts))
    assert "untolerated taint {dedicated: gpu}" in thread
    assert "FailedScheduling" in thread
    assert fake_slack.responses == []  # nothing went wrong, so nothing was said via response_url
    # the root no longer says "working on it…": it carries the verdict line and a link to the findings
    root = fake_slack.messages[("C123", root_ts)]
    status = root["blocks"][-1]["elements"][0]["text"]
    assert "working on it" not in str(root["blocks"])
    assert "*WARNING*" in status and "*Scheduler*" in status and "untolerated taint" in status
    first_reply = sorted(replies, key=lambda reply: float(reply["ts"]))[0]["ts"]
    assert f"p{first_reply.replace('.', '')}?thread_ts={root_ts}" in status
    assert root["blocks"][0]["text"]["text"] == f"{runbook} shop/web-0, asked by <@U123> · cluster default"
    assert f"{runbook} shop/web-0, asked by <@U123>" in root["text"]


def test_bad_input_is_answered_ephemerally_by_the_running_server(
    server: ServeProcess, fake_slack: FakeSlackServer, redis_url: str
) -> None:
    answer = post_command(server, "describe Web_0 -n shop", fake_slack.response_url())
    assert answer.status_code == 200
    assert answer.json()["response_type"] == "ephemeral"
    assert "Invalid pod name `Web_0`" in answer.json()["text"]
    forged = post_command(server, "describe web-0 -n shop", fake_slack.response_url(), secret="not-the-secret")
    assert forged.status_code == 401
    ready = httpx.get(f"{server.url}/readyz", timeout=CLIENT_TIMEOUT)
    assert ready.status_code == 200
    assert named_queue(Redis.from_url(redis_url), "clusterdoc:default").count == 0
    assert fake_slack.calls_to("chat.postMessage") == []


def test_debug_logs_and_the_thread_hold_no_secret(
    environment: dict[str, str], fake_slack: FakeSlackServer, fake_kube: FakeKubeFactory, examples_dir: Path,
    redis_url: str, tmp_path: Path,
) -> None:
    """With -v (debug logging from every library) neither process prints a token, the signing secret
    or the cluster credentials, and the thread shows no environment value of the described pod."""
    kube_token = "kube-bearer-9c1f0e7d2b"
    kubeconfig = tmp_path / "kubeconfig-secret"
    kubeconfig.write_text(
        write_kubeconfig(kubeconfig, fake_kube(examples_dir / "taint-pending").url).read_text()
        .replace("token: test-token", f"token: {kube_token}")
    )
    env = {**environment, "KUBECONFIG": str(kubeconfig)}
    server = ServeProcess(env, "-v")
    try:
        assert post_command(server, "describe web-0 -n shop", fake_slack.response_url()).status_code == 200
        wait_for_queue(redis_url, 1)
        worker = run_burst_worker(env, "-v")
    finally:
        server_output = server.stop()
    assert worker.returncode == 0, worker.stderr
    root_ts = fake_slack.posted_messages("C123")[0]["ts"]
    thread = "\n".join(str(reply.get("blocks", "")) + reply.get("text", "") for reply in fake_slack.thread(root_ts))
    thread += "\n".join(upload.text for upload in fake_slack.files_in_thread(root_ts))
    assert "Pod shop/web-0" in thread  # the describe ran and was posted
    assert "DEBUG" in server_output and "DEBUG" in worker.stderr  # debug logging was really on
    outputs = {"serve": server_output, "worker": worker.stdout + worker.stderr, "thread": thread}
    secrets = [env["SLACK_BOT_TOKEN"], SECRET, kube_token, "http://api.shop.svc:8080"]  # the last: web's env value
    leaks = [(where, secret) for where, text in outputs.items() for secret in secrets if secret in text]
    assert leaks == []
