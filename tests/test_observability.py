"""The bot's own metrics and logs, end to end: a running ``clusterdoc serve`` and a running (forking)
``clusterdoc worker --metrics-port``, against a real redis-server, the fake Slack and the fake API
server. After a command that succeeds, a job that fails for good and a repeated alert, both
``/metrics`` carry the series ops alert on, and the error id the thread shows is in the worker's
JSON log, on a line that also names the job.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis

from clusterdoc.config import JobSettings
from clusterdoc.queue import DiagnosisRequest, ThreadRef, enqueue_diagnosis
from clusterdoc.report import Target
from tests.conftest import FakeKubeFactory
from tests.harness.alertmanager import alert, webhook_payload
from tests.harness.fake_kube import write_kubeconfig
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.ports import free_port
from tests.harness.processes import REPO_ROOT, ServeProcess, process_env, stop_process, wait_until
from tests.harness.signing import signed_headers, slash_command_body

SECRET = "observability-signing-secret-0123456789"
ALERTS_TOKEN = "observability-alerts-token"


def samples(text: str) -> dict[str, float]:
    """``name{labels}`` -> value of a Prometheus text exposition."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            found[key] = float(value)
    return found


def value(found: dict[str, float], name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for key, number in found.items():
        metric, _, rest = key.partition("{")
        have = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if metric == name and labels.items() <= have.items():
            total += number
    return total


@pytest.fixture
def environment(redis_url: str, fake_slack: FakeSlackServer, fake_kube: FakeKubeFactory, examples_dir: Path,
                tmp_path: Path) -> dict[str, str]:
    kube = fake_kube(examples_dir / "taint-pending")
    return process_env(
        SLACK_BOT_TOKEN="xoxb-observability", SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake_slack.url,
        REDIS_URL=redis_url, KUBECONFIG=str(write_kubeconfig(tmp_path / "kubeconfig", kube.url)),
        ALERTS_TOKEN=ALERTS_TOKEN, CLUSTERDOC_ALERT_CHANNEL="C0ALERTS",
        CLUSTERDOC_LOG_FORMAT="json", CLUSTERDOC_LOG_LEVEL="INFO",
    )


class WorkerProcess:
    """``clusterdoc worker --metrics-port P`` (RQ's forking worker), its log in a file."""

    def __init__(self, env: dict[str, str], log_path: Path, multiproc: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "clusterdoc", "worker", "--metrics-port", str(self.port)],
            cwd=REPO_ROOT, env={**env, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)},
            stdout=self._log, stderr=subprocess.STDOUT, text=True,
        )
        wait_until(lambda: self.process.poll() is not None or self._healthy(), "the worker's /healthz", 30)
        assert self.process.poll() is None, log_path.read_text(encoding="utf-8")

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def metrics(self) -> dict[str, float]:
        return samples(httpx.get(f"{self.url}/metrics", timeout=5).text)

    def log_lines(self) -> list[dict[str, Any]]:
        """Every line the worker printed, each one JSON object."""
        return [json.loads(raw) for raw in self.log_path.read_text(encoding="utf-8").splitlines() if raw.strip()]

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


@pytest.fixture
def processes(environment: dict[str, str], tmp_path: Path) -> Iterator[tuple[ServeProcess, WorkerProcess]]:
    server = ServeProcess(environment)
    try:
        worker = WorkerProcess(environment, tmp_path / "worker.log", tmp_path / "prom")
    except BaseException:
        server.stop()
        raise
    yield server, worker
    worker.stop()
    server.stop()


def test_metrics_of_both_processes_and_the_error_id_in_the_json_log(
    processes: tuple[ServeProcess, WorkerProcess], fake_slack: FakeSlackServer, redis_url: str
) -> None:
    server, worker = processes
    # 1. a command that works: queued by serve, run by a work horse of the worker, posted in the thread
    body = slash_command_body(text="why-pending web-0 -n shop", user_id="U123", channel_id="C123",
                              response_url=fake_slack.response_url())
    answer = httpx.post(f"{server.url}/slack/events", content=body, headers=signed_headers(SECRET, body), timeout=3)
    assert answer.status_code == 200
    root = fake_slack.wait_for("chat.postMessage", 1)[0]
    root_ts = fake_slack.posted_messages("C123")[0]["ts"]
    wait_until(lambda: fake_slack.thread(root_ts), "the findings in the thread", timeout=60)
    assert root.params["channel"] == "C123"

    # 2. a job that fails for good: Slack refuses every post of its report
    thread = ThreadRef("C123", root_ts)
    fake_slack.rate_limit("chat.postMessage", times=6, retry_after=0)
    request = DiagnosisRequest(verb="describe", runbook="describe", target=Target("Pod", "web-0", "shop"),
                               cluster="default", command="describe web-0 -n shop")
    job = enqueue_diagnosis(Redis.from_url(redis_url), request, thread,
                            JobSettings(timeout_seconds=60, retries=0, retry_intervals=[]))
    wait_until(lambda: any("error id" in m.get("text", "") for m in fake_slack.thread(root_ts)),
               "the failure to be announced in the thread", timeout=60)

    # 3. the same alert twice: received 2, deduplicated 1
    alerts = webhook_payload([alert("KubePodCrashLooping", namespace="shop", pod="web-0")])
    for _ in range(2):
        posted = httpx.post(f"{server.url}/alerts", json=alerts, timeout=5,
                            headers={"Authorization": f"Bearer {ALERTS_TOKEN}"})
        assert posted.status_code == 200, posted.text

    # the error id in the thread leads to the worker's JSON log line about it
    announced = next(m["text"] for m in fake_slack.thread(root_ts) if "error id" in m.get("text", ""))
    error_id = re.search(r"error id `([0-9a-f]+)`", announced).group(1)  # type: ignore[union-attr]
    assert error_id == job.id[:8]
    wait_until(lambda: any(line.get("error_id") == error_id for line in worker.log_lines()),
               "the error id in the worker's JSON log", timeout=10)
    logged = [line for line in worker.log_lines() if line.get("error_id") == error_id]
    failed_for_good = next(line for line in logged if "failed for good" in line["message"])
    assert failed_for_good["job_id"] == job.id and failed_for_good["level"] == "ERROR"
    assert {"time", "logger", "runbook"} <= failed_for_good.keys()
    assert all(line.keys() >= {"time", "level", "logger", "message"} for line in worker.log_lines())

    # the worker's /metrics: what its forked work horses counted, added up
    work = worker.metrics()
    assert value(work, "clusterdoc_jobs_succeeded_total", runbook="why-pending") == 1
    assert value(work, "clusterdoc_jobs_failed_total", runbook="describe") == 1
    assert value(work, "clusterdoc_job_duration_seconds_count", runbook="why-pending") == 1
    assert value(work, "clusterdoc_job_duration_seconds_count") >= 2  # (+ the alert's triage, when it ran)
    assert value(work, "clusterdoc_job_queue_wait_seconds_count") >= 2
    assert value(work, "clusterdoc_slack_api_calls_total", method="chat.postMessage") >= 3
    assert value(work, "clusterdoc_slack_api_errors_total", method="chat.postMessage", error="ratelimited") >= 1

    # the bot's /metrics
    wait_until(lambda: value(samples(httpx.get(f"{server.url}/metrics", timeout=5).text),
                             "clusterdoc_alert_deliveries_queued") == 0, "the dispatcher to take the alerts", 20)
    bot = samples(httpx.get(f"{server.url}/metrics", timeout=5).text)
    assert value(bot, "clusterdoc_slash_commands_total", verb="why-pending", outcome="queued") == 1
    assert value(bot, "clusterdoc_jobs_enqueued_total", runbook="why-pending") == 1
    assert value(bot, "clusterdoc_alerts_received_total") == 2
    assert value(bot, "clusterdoc_alerts_deduplicated_total") == 1
    assert value(bot, "clusterdoc_slack_api_calls_total", method="chat.postMessage") >= 1
    assert value(bot, "clusterdoc_slack_api_calls_total", method="auth.test") == 1
    assert value(bot, "clusterdoc_queue_workers", cluster="default") == 1
    assert value(bot, "clusterdoc_queue_depth", cluster="default") >= 0
    assert "clusterdoc_queue_depth{cluster=\"default\"}" in bot
    assert value(bot, "clusterdoc_dispatcher_up") == 1
    assert value(bot, "clusterdoc_redis_up") == 1
    # serve logs JSON too, every line of it
    printed = [line for line in server.stop().splitlines() if line.strip()]
    assert printed and all(json.loads(line)["level"] for line in printed)


@pytest.mark.parametrize(
    ("env", "args", "line"),
    [
        ({"CLUSTERDOC_LOG_FORMAT": "xml"}, ["runbooks", "list"],
         "clusterdoc: CLUSTERDOC_LOG_FORMAT: must be json or text"),
        ({"CLUSTERDOC_LOG_LEVEL": "LOUD"}, ["runbooks", "list"], "clusterdoc: CLUSTERDOC_LOG_LEVEL: must be one of"),
        ({"CLUSTERDOC_METRICS_PORT": "http"}, ["worker", "--burst"],
         "clusterdoc: CLUSTERDOC_METRICS_PORT: must be a port number, got 'http'"),
    ],
    ids=["log-format", "log-level", "metrics-port"],
)
def test_bad_logging_and_metrics_settings_are_one_line(env: dict[str, str], args: list[str], line: str) -> None:
    done = subprocess.run([sys.executable, "-m", "clusterdoc", *args], cwd=REPO_ROOT,
                          env=process_env(**env), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith(line) and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_an_error_id_in_a_message_lands_on_the_json_line() -> None:
    import io
    import logging

    from clusterdoc.logs import ContextFilter, json_formatter, log_context

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("clusterdoc.test.observability")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with log_context(request_id="r-1"):
            logger.error("slash command failed after ack [error 0a1b2c3d]")
        logger.warning("shown as error id `deadbeef` in the thread")
        logger.warning("no id here")
    finally:
        logger.removeHandler(handler)
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["error_id"], first["request_id"], first["level"]) == ("0a1b2c3d", "r-1", "ERROR")
    assert second["error_id"] == "deadbeef" and "request_id" not in second
    assert "error_id" not in third


def test_the_cli_loads_prometheus_client_only_after_choosing_multiprocess_mode() -> None:
    """`clusterdoc worker` sets PROMETHEUS_MULTIPROC_DIR before the metrics are made; importing the CLI
    must not make them first, or the forked jobs' counts would be lost."""
    probe = "import sys, clusterdoc.cli; print('prometheus_client' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
