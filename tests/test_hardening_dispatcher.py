"""Issue 10 item 8: the alert dispatcher survives Redis being down when serve starts; probes tell its health.

A real ``clusterdoc serve`` is started while its Redis is not running: ``/readyz`` says why it
is not ready, ``/healthz`` stays alive; once a real redis-server comes up on that port an alert
posted to ``/alerts`` reaches the fake Slack. The liveness probe is shown to fail when the
dispatcher thread has really died (ended by an exception raised into it from outside).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from clusterdoc.bot.alerts.service import build_alert_service
from clusterdoc.bot.app import BotContext
from clusterdoc.bot.server import create_http_app, redis_client
from clusterdoc.config import load_settings
from clusterdoc.workers.runbook.loader import Catalogue
from tests.harness.alertmanager import alert, webhook_payload
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.processes import ServeProcess, process_env, wait_until
from tests.harness.redis_server import RedisServer

TOKEN = "alerts-token-dispatcher"


@pytest.fixture
def stopped_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.halt()  # its port is chosen; nothing listens there yet
    yield server
    server.stop()


def test_alert_posted_after_redis_comes_up_reaches_slack(
    stopped_redis: RedisServer, fake_slack: FakeSlackServer
) -> None:
    serve = ServeProcess(process_env(
        SLACK_BOT_TOKEN="xoxb-dispatch", SLACK_SIGNING_SECRET="s" * 32, SLACK_API_URL=fake_slack.url,
        REDIS_URL=stopped_redis.url, ALERTS_TOKEN=TOKEN, CLUSTERDOC_ALERT_CHANNEL="C0ALERTS",
    ))
    try:
        ready = httpx.get(f"{serve.url}/readyz", timeout=5)
        assert ready.status_code == 503 and "redis unreachable" in ready.text
        assert httpx.get(f"{serve.url}/healthz", timeout=5).status_code == 200  # alive: just waiting for Redis
        stopped_redis.start(same_port=True)
        wait_until(lambda: httpx.get(f"{serve.url}/readyz", timeout=5).status_code == 200, "serve ready", 60)
        body = webhook_payload([alert("KubePodCrashLooping", namespace="shop", pod="api-1", severity="warning")])
        answer = httpx.post(f"{serve.url}/alerts", json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert answer.status_code == 200
        wait_until(lambda: fake_slack.posted_messages("C0ALERTS"), "the alert's root in Slack", 60)
        root = fake_slack.posted_messages("C0ALERTS")[0]
        assert "KubePodCrashLooping" in str(root["attachments"])
    finally:
        output = serve.stop()
    assert "Traceback" not in output


def _kill_thread(thread: threading.Thread) -> None:
    """Raise SystemExit inside ``thread`` (what an uncaught BaseException would do to it)."""
    assert thread.ident is not None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(SystemExit))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_liveness_fails_when_the_dispatcher_thread_died(redis_url: str, fake_slack: FakeSlackServer) -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_API_URL": fake_slack.url, "REDIS_URL": redis_url,
                              "ALERTS_TOKEN": TOKEN, "CLUSTERDOC_ALERT_CHANNEL": "C0ALERTS"})
    service = build_alert_service(settings, redis_client(settings))
    bot = BotContext(settings=settings, file_config=settings.file_config(), catalogue=Catalogue.load([]),
                     redis=redis_client(settings))
    app = TestClient(create_http_app(bot, None, extra_routes=service.routes, ready_checks=[service.ready_problem],
                                     live_checks=[service.liveness_problem]))
    service.start()
    try:
        assert app.get("/healthz").status_code == 200
        assert app.get("/readyz").status_code == 200
        thread = service._thread
        assert thread is not None
        _kill_thread(thread)
        thread.join(timeout=10)
        assert not thread.is_alive()
        dead = app.get("/healthz")
        assert dead.status_code == 503 and "alert dispatcher thread is not running" in dead.text
        assert app.get("/readyz").status_code == 503
    finally:
        service.stop()
