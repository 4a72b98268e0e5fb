"""Jobs on the real Redis queue, run by the real burst worker, answered in the fake Slack thread.

The worker reads the cluster through ``LiveCluster`` and a kubeconfig pointing at the fake API
server, and posts through ``SlackPublisher`` to the fake Slack Web API: the code under test is
the code that ships, from ``enqueue_diagnosis`` to the threaded reply.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from rq.job import JobStatus
from slack_sdk import WebClient

from clusterdoc.config import ConfigError, JobSettings, Settings, load_settings
from clusterdoc.queue import DiagnosisRequest, ThreadRef, enqueue_diagnosis, listening_workers, named_queue, queue_name
from clusterdoc.report import Target
from clusterdoc.workers.jobs import diagnosis_failed
from clusterdoc.workers.process import enqueue_sweep, run_worker
from tests.conftest import FakeKubeFactory
from tests.harness.fake_kube import write_kubeconfig
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.ports import free_port

QUICK_JOBS = JobSettings(timeout_seconds=60, retries=0, retry_intervals=[])


def worker_settings(redis_url: str, fake_slack: FakeSlackServer, kubeconfig: Path) -> Settings:
    return load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_API_URL": fake_slack.url,
            "REDIS_URL": redis_url,
            "KUBECONFIG": str(kubeconfig),
        }
    )


def post_root(fake_slack: FakeSlackServer, text: str = "root") -> ThreadRef:
    response = WebClient(token="xoxb-test-token", base_url=fake_slack.url).chat_postMessage(channel="C123", text=text)
    return ThreadRef("C123", str(response["ts"]))


def pod_request(name: str = "web-0", namespace: str = "shop", runbook: str = "describe",
                cluster: str = "default") -> DiagnosisRequest:
    return DiagnosisRequest(verb=runbook, runbook=runbook, target=Target("Pod", name, namespace), cluster=cluster,
                            command=f"{runbook} {name} -n {namespace}")


def thread_text(fake_slack: FakeSlackServer, thread: ThreadRef) -> str:
    """Everything posted in the thread (message text and blocks, uploaded files) as one string."""
    parts: list[Any] = []
    for message in fake_slack.thread(thread.ts):
        parts.extend([message.get("text", ""), message.get("blocks", "")])
    parts.extend(upload.text for upload in fake_slack.files_in_thread(thread.ts))
    return "\n".join(str(part) for part in parts)


@pytest.fixture
def taint_cluster(fake_kube: FakeKubeFactory, examples_dir: Path, tmp_path: Path) -> Path:
    server = fake_kube(examples_dir / "taint-pending")
    return write_kubeconfig(tmp_path / "kubeconfig", server.url)


def test_enqueue_declares_timeout_retry_and_failure_callback(redis_url: str) -> None:
    connection = Redis.from_url(redis_url)
    jobs = JobSettings(timeout_seconds=90, retries=2, retry_intervals=[10, 30])
    job = enqueue_diagnosis(connection, pod_request(cluster="prod"), ThreadRef("C1", "1.000100"), jobs)
    assert queue_name("prod") == "clusterdoc:prod"
    assert listening_workers(connection, "prod") == 0
    assert named_queue(connection, "clusterdoc:prod").job_ids == [job.id]
    assert job.func_name == "clusterdoc.workers.jobs.diagnose"
    assert job.args == (pod_request(cluster="prod").to_json(), {"channel": "C1", "ts": "1.000100"})
    assert (job.timeout, job.retries_left, job.retry_intervals) == (90, 2, [10, 30])
    stored = named_queue(connection, "clusterdoc:prod").fetch_job(job.id)
    assert stored is not None
    assert stored.failure_callback is diagnosis_failed
    assert job.meta["max_attempts"] == 3


def test_burst_worker_posts_findings_in_the_thread(
    redis_url: str, fake_slack: FakeSlackServer, taint_cluster: Path
) -> None:
    thread = post_root(fake_slack)
    job = enqueue_diagnosis(Redis.from_url(redis_url), pod_request(), thread, QUICK_JOBS)
    assert run_worker(worker_settings(redis_url, fake_slack, taint_cluster), None, burst=True) == 0
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value()["runbook"] == "describe"
    assert job.return_value()["api_requests"] > 0
    replies = fake_slack.thread(thread.ts)
    assert replies, "no reply in the thread"
    assert all(reply["channel"] == "C123" for reply in replies)
    text = thread_text(fake_slack, thread)
    assert "untolerated taint {dedicated: gpu}" in text
    assert "FailedScheduling" in text


def test_unknown_pod_is_a_thread_reply_with_close_matches(
    redis_url: str, fake_slack: FakeSlackServer, fake_kube: FakeKubeFactory, tmp_path: Path
) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop", "uid": "u1"},
           "spec": {"containers": [{"name": "web", "image": "web:1"}]}, "status": {"phase": "Running"}}
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", fake_kube([pod]).url)
    thread = post_root(fake_slack)
    enqueue_diagnosis(Redis.from_url(redis_url), pod_request("web-0"), thread, QUICK_JOBS)
    run_worker(worker_settings(redis_url, fake_slack, kubeconfig), None, burst=True)
    text = thread_text(fake_slack, thread)
    assert "pod web-0 not found in namespace shop" in text
    assert "Close matches: web-1" in text


def test_forbidden_api_is_a_finding_naming_the_permission(
    redis_url: str, fake_slack: FakeSlackServer, fake_kube: FakeKubeFactory, examples_dir: Path, tmp_path: Path
) -> None:
    server = fake_kube(examples_dir / "taint-pending")
    server.fail(r"/namespaces/shop/pods/web-0$", 403, times=None)
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url)
    thread = post_root(fake_slack)
    job = enqueue_diagnosis(Redis.from_url(redis_url), pod_request(), thread, QUICK_JOBS)
    run_worker(worker_settings(redis_url, fake_slack, kubeconfig), None, burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    text = thread_text(fake_slack, thread)
    assert "Permission missing: get pods" in text
    assert "cannot get pods in namespace shop" in text


def test_unreachable_api_server_is_a_finding(
    redis_url: str, fake_slack: FakeSlackServer, tmp_path: Path
) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{free_port()}")
    thread = post_root(fake_slack)
    enqueue_diagnosis(Redis.from_url(redis_url), pod_request(), thread, QUICK_JOBS)
    run_worker(worker_settings(redis_url, fake_slack, kubeconfig), None, burst=True)
    text = thread_text(fake_slack, thread)
    assert "API server unreachable" in text
    assert "cannot reach the API server" in text


def test_slack_429_is_retried_after_retry_after_and_arrives(
    redis_url: str, fake_slack: FakeSlackServer, taint_cluster: Path
) -> None:
    thread = post_root(fake_slack)
    fake_slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    job = enqueue_diagnosis(Redis.from_url(redis_url), pod_request(), thread, QUICK_JOBS)
    run_worker(worker_settings(redis_url, fake_slack, taint_cluster), None, burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    attempts = fake_slack.calls_to("chat.postMessage", include_rate_limited=True)[1:]  # [0] is the root
    assert attempts[0].status == 429
    assert attempts[1].status == 200
    assert attempts[1].params["thread_ts"] == thread.ts
    assert attempts[1].params["text"] == attempts[0].params["text"]  # the same post, retried
    assert "FailedScheduling" in thread_text(fake_slack, thread)


def test_slack_failing_beyond_retries_fails_the_job_and_rq_retries_it(
    redis_url: str, fake_slack: FakeSlackServer, taint_cluster: Path, caplog: pytest.LogCaptureFixture
) -> None:
    thread = post_root(fake_slack)
    fake_slack.rate_limit("chat.postMessage", times=6, retry_after=0)  # the first post and its 5 retries
    jobs = JobSettings(timeout_seconds=60, retries=1, retry_intervals=[0])
    job = enqueue_diagnosis(Redis.from_url(redis_url), pod_request(), thread, jobs)
    with caplog.at_level(logging.WARNING):
        run_worker(worker_settings(redis_url, fake_slack, taint_cluster), None, burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED  # the second attempt delivered
    assert "slack chat.postMessage to channel C123 failed: ratelimited" in caplog.text
    assert "1 retries left" in caplog.text
    text = thread_text(fake_slack, thread)
    assert "FailedScheduling" in text
    assert "diagnosis failed" not in text  # a failure with a retry left is not announced


def test_rq_retry_does_not_post_what_the_failed_attempt_delivered(
    redis_url: str, fake_slack: FakeSlackServer, fake_kube: FakeKubeFactory, examples_dir: Path, tmp_path: Path
) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", fake_kube(examples_dir / "crashloop").url)
    thread = post_root(fake_slack)
    # the report's message goes through; its table upload fails beyond the client's retries
    fake_slack.rate_limit("files.getUploadURLExternal", times=6, retry_after=0)
    jobs = JobSettings(timeout_seconds=60, retries=1, retry_intervals=[0])
    request = DiagnosisRequest("describe", "describe", Target("Deployment", "api", "shop"))
    job = enqueue_diagnosis(Redis.from_url(redis_url), request, thread, jobs)
    run_worker(worker_settings(redis_url, fake_slack, kubeconfig), None, burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED  # the second attempt delivered the rest
    replies = fake_slack.thread(thread.ts)
    assert len(replies) == len({reply["text"] for reply in replies}), "a message was posted twice"
    assert len(fake_slack.files_in_thread(thread.ts)) >= 1


def test_last_failed_attempt_is_announced_in_the_thread(
    redis_url: str, fake_slack: FakeSlackServer, taint_cluster: Path, caplog: pytest.LogCaptureFixture
) -> None:
    thread = post_root(fake_slack)
    fake_slack.rate_limit("chat.postMessage", times=6, retry_after=0)
    job = enqueue_diagnosis(Redis.from_url(redis_url), pod_request(), thread, QUICK_JOBS)
    with caplog.at_level(logging.ERROR):
        run_worker(worker_settings(redis_url, fake_slack, taint_cluster), None, burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    error_id = job.id[:8]
    replies = fake_slack.thread(thread.ts)
    assert len(replies) == 1
    assert f"The diagnosis failed after 1 attempt(s) (error id `{error_id}`)" in replies[0]["text"]
    assert f"failed for good [error {error_id}]" in caplog.text


def test_worker_routes_by_cluster_queue(redis_url: str, fake_slack: FakeSlackServer, taint_cluster: Path) -> None:
    connection = Redis.from_url(redis_url)
    prod = enqueue_diagnosis(connection, pod_request(cluster="prod"), post_root(fake_slack), QUICK_JOBS)
    other = enqueue_diagnosis(connection, pod_request(cluster="staging"), post_root(fake_slack), QUICK_JOBS)
    run_worker(worker_settings(redis_url, fake_slack, taint_cluster), "prod", burst=True)
    prod.refresh()
    other.refresh()
    assert prod.get_status() == JobStatus.FINISHED
    assert other.get_status() == JobStatus.QUEUED  # staging's job waits for staging's workers


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SLACK_BOT_TOKEN": None}, "SLACK_BOT_TOKEN is not set (needed by the worker to post findings)"),
        ({"KUBECONFIG": "/nonexistent/kubeconfig"}, "cluster default: no Kubernetes credentials"),
        ({"REDIS_URL": "redis://127.0.0.1:1/0"}, "REDIS_URL: cannot reach Redis"),
    ],
    ids=["no-bot-token", "bad-kubeconfig", "redis-down"],
)
def test_worker_start_up_problems_are_one_line(
    redis_url: str, fake_slack: FakeSlackServer, taint_cluster: Path, env: dict[str, str | None], message: str
) -> None:
    values = {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_API_URL": fake_slack.url,
        "REDIS_URL": redis_url,
        "KUBECONFIG": str(taint_cluster),
    }
    values.update(env)
    settings = load_settings({key: value for key, value in values.items() if value is not None})
    with pytest.raises(ConfigError) as caught:
        run_worker(settings, None, burst=True)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_long_output_is_uploaded_as_a_file_into_the_thread(fake_slack: FakeSlackServer) -> None:
    from clusterdoc.report import Finding, Preformatted, Report, Severity, Verdict
    from clusterdoc.slack.publisher import SlackPublisher

    log_lines = "\n".join(f"2026-11-27T06:00:{i % 60:02d}Z worker {i}: connection refused" for i in range(400))
    report = Report(
        "describe", Target("Pod", "web-0", "shop"), Verdict("workload", Severity.WARNING, "web-0 keeps crashing"),
        [Finding("logs", Severity.WARNING, "Last log lines of web", blocks=[Preformatted(log_lines, title="web")])],
    )
    thread = post_root(fake_slack)
    SlackPublisher(WebClient(token="xoxb-test-token", base_url=fake_slack.url)).publish(report, thread)
    files = fake_slack.files_in_thread(thread.ts)
    assert len(files) == 1
    assert files[0].channel == "C123"
    assert files[0].text.rstrip().endswith("worker 399: connection refused")  # the whole log, not cut
    assert fake_slack.thread(thread.ts), "the findings message itself was not posted"


@pytest.mark.parametrize(
    ("request_dict", "problem"),
    [
        ({"runbook": "describe", "target": None}, "the request has no verb"),
        ({"verb": "describe", "runbook": "describe", "target": "web-0"},
         "the request's target needs a kind and a name"),
        ({"verb": "describe", "runbook": "describe", "target": {"kind": "Secret", "name": "db", "namespace": "shop"}},
         "the request's target: a Secret is never read: the diagnostic role has no access to Secrets"),
        ({"verb": "describe", "runbook": "describe", "target": {"kind": "Gizmo", "name": "x"}},
         "the request's target: unknown kind 'Gizmo'"),
        ({"verb": "describe", "runbook": "describe", "target": {"kind": "Service", "name": "web", "namespace": "shop"}},
         "runbook describe does not take a Service"),
        ({"verb": "run", "runbook": "describe", "target": {"kind": "Pod", "name": "web-0"}, "params": ["max_lines"]},
         "the request's params must map names to strings"),
        ("describe web-0", "the request is a str, not an object"),
    ],
    ids=["no-verb", "target-not-object", "secret", "unknown-kind", "kind-not-taken", "params-list", "not-a-dict"],
)
def test_malformed_job_payload_is_answered_in_the_thread_and_the_worker_goes_on(
    redis_url: str, fake_slack: FakeSlackServer, taint_cluster: Path, caplog: pytest.LogCaptureFixture,
    request_dict: Any, problem: str,
) -> None:
    connection = Redis.from_url(redis_url)
    bad_thread = post_root(fake_slack)
    queue = named_queue(connection, queue_name("default"))
    bad = queue.enqueue("clusterdoc.workers.jobs.diagnose", args=(request_dict, bad_thread.to_json()), retry=None)
    good_thread = post_root(fake_slack)
    good = enqueue_diagnosis(connection, pod_request(), good_thread, QUICK_JOBS)
    with caplog.at_level(logging.ERROR):
        assert run_worker(worker_settings(redis_url, fake_slack, taint_cluster), None, burst=True) == 0
    bad.refresh()
    good.refresh()
    assert bad.get_status() == JobStatus.FINISHED  # answered, not failed: a retry would fail the same way
    assert bad.return_value()["run"] is False
    replies = fake_slack.thread(bad_thread.ts)
    assert len(replies) == 1
    assert f"This diagnosis job could not be read ({problem}), so it was not run" in replies[0]["text"]
    assert f"payload rejected: {problem}" in caplog.text
    assert good.get_status() == JobStatus.FINISHED  # the same worker went on to the next job
    assert "FailedScheduling" in thread_text(fake_slack, good_thread)


def test_job_with_an_unreadable_thread_is_logged_not_retried(
    redis_url: str, fake_slack: FakeSlackServer, taint_cluster: Path, caplog: pytest.LogCaptureFixture
) -> None:
    queue = named_queue(Redis.from_url(redis_url), queue_name("default"))
    job = queue.enqueue("clusterdoc.workers.jobs.diagnose", args=(pod_request().to_json(), {"channel": "C123"}))
    with caplog.at_level(logging.ERROR):
        run_worker(worker_settings(redis_url, fake_slack, taint_cluster), None, burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == {"run": False, "reason": "bad payload: the thread needs a channel and a ts"}
    assert "payload rejected: the thread needs a channel and a ts" in caplog.text
    assert not fake_slack.calls_to("chat.postMessage")


def test_one_stalled_claims_sweep_per_interval_across_workers(redis_url: str) -> None:
    connection = Redis.from_url(redis_url)
    queue = named_queue(connection, queue_name("prod"))
    assert enqueue_sweep(connection, queue, interval=300) is True
    assert enqueue_sweep(connection, named_queue(Redis.from_url(redis_url), queue_name("prod")),
                         interval=300) is False  # a second worker in the same interval
    assert [job.func_name for job in queue.jobs] == ["clusterdoc.workers.approvals.jobs.sweep_stalled"]
    assert enqueue_sweep(connection, named_queue(connection, queue_name("staging")), interval=300) is True
