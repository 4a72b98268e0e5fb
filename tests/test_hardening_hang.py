"""Issue 10 item 12: a hanging API server is named (layer and call) in the thread before the job's budget ends.

The fake API server's slow-answer fault holds every answer for the target pod far longer than
the job may run; the real burst worker must finish the job (not be killed by RQ's timeout) and
post a report whose verdict names the API server and whose finding names the call that hung.
"""

from __future__ import annotations

from pathlib import Path

from redis import Redis
from rq.job import JobStatus

from clusterdoc.config import JobSettings
from clusterdoc.queue import enqueue_diagnosis
from clusterdoc.workers.jobs import budget_seconds
from clusterdoc.workers.process import run_worker
from tests.conftest import FakeKubeFactory
from tests.harness.fake_kube import write_kubeconfig
from tests.harness.fake_slack import FakeSlackServer
from tests.test_queue_worker import pod_request, post_root, thread_text, worker_settings


def test_budget_keeps_time_to_post() -> None:
    assert budget_seconds(None) is None
    assert budget_seconds(20) == 15  # 5 s kept at least
    assert budget_seconds(60) == 48
    assert budget_seconds(600) == 570  # 30 s kept at most


def test_hanging_api_server_is_named_within_the_budget(
    redis_url: str, fake_slack: FakeSlackServer, fake_kube: FakeKubeFactory, examples_dir: Path, tmp_path: Path
) -> None:
    server = fake_kube(examples_dir / "taint-pending")
    server.delay(r"/namespaces/shop/pods/web-0$", 40)  # every answer held 40 s; the job may run 10 s
    thread = post_root(fake_slack)
    job = enqueue_diagnosis(Redis.from_url(redis_url), pod_request(runbook="why-pending"), thread,
                            JobSettings(timeout_seconds=10, retries=0, retry_intervals=[]))
    run_worker(worker_settings(redis_url, fake_slack, write_kubeconfig(tmp_path / "kc", server.url)), None, burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED, "RQ stopped the job: the thread was not told in time"
    assert job.return_value()["verdict"]["layer"] == "apiserver"
    text = thread_text(fake_slack, thread)
    assert "API server not answering" in text
    assert "get pods" in text and "/namespaces/shop/pods/web-0" in text
    assert "and did not answer within" in text
    assert "did not finish within" not in text
