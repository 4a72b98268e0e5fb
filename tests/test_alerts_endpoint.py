"""``POST /alerts`` over HTTP against real Redis: credentials, size limit, bad payloads, recording first."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from redis import Redis
from starlette.applications import Starlette
from starlette.testclient import TestClient

from clusterdoc.alert_config import AlertSettings
from clusterdoc.bot.alerts.endpoint import AlertsEndpoint
from clusterdoc.bot.alerts.intake import INBOX, recorded_alert, recorded_count
from clusterdoc.bot.alerts.payload import label_fingerprint
from clusterdoc.bot.alerts.stats import alert_metrics
from clusterdoc.bot.metrics import BotMetrics
from tests.harness.alertmanager import alert, webhook_payload
from tests.harness.ports import free_port

TOKEN = "alerts-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def app(redis: Redis, token: str | None = TOKEN, **settings: object) -> TestClient:
    endpoint = AlertsEndpoint(redis, token, AlertSettings.model_validate(settings))
    return TestClient(Starlette(routes=[endpoint.route()]))


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    connection = Redis.from_url(redis_url)
    yield connection
    connection.close()


def payload(count: int = 2) -> dict[str, object]:
    return webhook_payload([alert("KubePodCrashLooping", namespace="shop", pod=f"web-{i}") for i in range(count)])


def test_accepted_alerts_are_recorded_before_the_answer(redis: Redis) -> None:
    answer = app(redis).post("/alerts", json=payload(), headers=AUTH)
    assert answer.status_code == 200 and answer.json()["alerts"] == 2
    assert recorded_count(redis) == 2
    stored = recorded_alert(redis, label_fingerprint({"alertname": "KubePodCrashLooping", "namespace": "shop",
                                                      "pod": "web-1"}))
    assert stored is not None
    assert stored["labels"]["pod"] == "web-1" and stored["status"] == "firing"
    assert stored["startsAt"].startswith("2024-11-12T09:30")
    assert redis.lrange(INBOX, 0, -1) == [answer.json()["delivery"].encode()]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
     {"Authorization": "Basic " + base64.b64encode(b"am:wrong").decode()}],
    ids=["none", "wrong-bearer", "no-scheme", "wrong-basic"],
)
def test_wrong_credentials_get_401_and_nothing_is_recorded(redis: Redis, headers: dict[str, str]) -> None:
    answer = app(redis).post("/alerts", json=payload(), headers=headers)
    assert answer.status_code == 401
    assert "Bearer" in answer.json()["error"] and TOKEN not in answer.text
    assert recorded_count(redis) == 0 and redis.llen(INBOX) == 0


def test_basic_auth_with_the_token_as_password_is_accepted(redis: Redis) -> None:
    header = "Basic " + base64.b64encode(f"alertmanager:{TOKEN}".encode()).decode()
    assert app(redis, basic_auth_user="alertmanager").post(
        "/alerts", json=payload(), headers={"Authorization": header}).status_code == 200


def test_without_alerts_token_the_endpoint_says_it_is_disabled(redis: Redis) -> None:
    answer = app(redis, token=None).post("/alerts", json=payload(), headers=AUTH)
    assert answer.status_code == 503 and "ALERTS_TOKEN" in answer.json()["error"]


def test_oversized_body_gets_413(redis: Redis) -> None:
    big = payload(200)
    answer = app(redis, max_body_bytes=4096).post("/alerts", content=json.dumps(big), headers=AUTH)
    assert answer.status_code == 413 and "4096" in answer.json()["error"]
    chunked = app(redis, max_body_bytes=4096).post(
        "/alerts", content=iter([json.dumps(big).encode()[i:i + 1000] for i in range(0, 30_000, 1000)]),
        headers=AUTH)
    assert chunked.status_code == 413
    assert recorded_count(redis) == 0


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"{oops", "not valid JSON"),
        (json.dumps({"receiver": "r", "status": "firing"}).encode(), "alerts: Field required"),
        (json.dumps({**payload(1), "alerts": [{"labels": {"alertname": 5}}]}).encode(),
         "alerts[0].labels.alertname"),
    ],
    ids=["bad-json", "no-alerts", "label-not-string"],
)
def test_malformed_payload_gets_400_naming_the_field(redis: Redis, content: bytes, field: str) -> None:
    answer = app(redis).post("/alerts", content=content, headers={**AUTH, "Content-Type": "application/json"})
    assert answer.status_code == 400
    assert field in answer.json()["error"]
    assert recorded_count(redis) == 0


def test_alert_metrics_count_what_was_received_and_what_waits(redis: Redis) -> None:
    client = app(redis)
    client.post("/alerts", json=payload(3), headers=AUTH)
    client.post("/alerts", json=payload(3), headers=AUTH)  # the same alerts again (a repeat)
    figures = alert_metrics(redis)
    assert figures["clusterdoc_alerts_received_total"] == 6 and figures["clusterdoc_alerts_recorded"] == 3
    assert figures["clusterdoc_alert_deliveries_queued"] == 2
    assert figures["clusterdoc_alerts_deduplicated_total"] == 3
    text = BotMetrics().render(redis, alert_metrics).decode()
    assert "# TYPE clusterdoc_alerts_received_total counter\nclusterdoc_alerts_received_total 6.0" in text
    assert "clusterdoc_alerts_deduplicated_total 3.0" in text
    assert "# TYPE clusterdoc_alerts_recorded gauge" in text


def test_redis_down_gets_503_so_alertmanager_retries() -> None:
    dead = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    answer = app(dead).post("/alerts", json=payload(), headers=AUTH)
    assert answer.status_code == 503 and "retry" in answer.json()["error"]
