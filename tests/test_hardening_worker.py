"""Issue 10 items 9 and 10: a real ``clusterdoc worker`` process survives Redis dying, and a kill -9 is noticed.

Each test runs the worker as its own process group (its work horse and scheduler included) with
a 1 s heartbeat (``CLUSTERDOC_WORKER_HEARTBEAT_SECONDS``), against a real redis-server with
append-only persistence (so a restart keeps the queue, as the chart's Redis does), the fake API
server (a slow answer keeps a job in flight) and the fake Slack.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq.job import JobStatus

from clusterdoc.config import JobSettings
from clusterdoc.queue import cluster_queue, enqueue_diagnosis
from tests.conftest import FakeKubeFactory
from tests.harness.fake_kube import FakeKubeServer, write_kubeconfig
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.processes import REPO_ROOT, process_env, stop_process, wait_until
from tests.harness.redis_server import RedisServer
from tests.test_queue_worker import pod_request, post_root, thread_text

POD_PATH = r"/namespaces/shop/pods/web-0$"
ANSWER = "untolerated taint {dedicated: gpu}"


@pytest.fixture
def durable_redis() -> Iterator[RedisServer]:
    with RedisServer(extra_args=["--appendonly", "yes", "--appendfsync", "always"]) as server:
        yield server


@pytest.fixture
def kube(fake_kube: FakeKubeFactory, examples_dir: Path) -> FakeKubeServer:
    return fake_kube(examples_dir / "taint-pending")


class WorkerProcess:
    """``clusterdoc worker`` in its own process group; output kept in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("a")
        self.process = subprocess.Popen([sys.executable, "-m", "clusterdoc", "worker"], cwd=REPO_ROOT, env=env,
                                        stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)

    def kill9(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> str:
        stop_process(self.process)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # a work horse left behind
        except ProcessLookupError:
            pass
        self._out.close()
        return self.log.read_text()


def worker_env(redis: RedisServer, slack: FakeSlackServer, kube: FakeKubeServer, tmp_path: Path) -> dict[str, str]:
    return process_env(
        SLACK_BOT_TOKEN="xoxb-worker", SLACK_API_URL=slack.url, REDIS_URL=redis.url,
        KUBECONFIG=str(write_kubeconfig(tmp_path / "kubeconfig", kube.url)),
        CLUSTERDOC_WORKER_HEARTBEAT_SECONDS="1",
    )


def _status(redis: Redis, job_id: str) -> JobStatus | None:
    job = cluster_queue(redis, "default").fetch_job(job_id)
    return job.get_status() if job is not None else None


@pytest.mark.parametrize(("retries", "expect"), [(1, "answer"), (0, "worker died")])
def test_kill9_worker_job_is_retried_or_reported_within_a_minute(
    durable_redis: RedisServer, fake_slack: FakeSlackServer, kube: FakeKubeServer, tmp_path: Path,
    retries: int, expect: str,
) -> None:
    redis = Redis.from_url(durable_redis.url)
    env = worker_env(durable_redis, fake_slack, kube, tmp_path)
    kube.delay(POD_PATH, 60, times=1)  # the first attempt hangs inside the API call
    thread = post_root(fake_slack)
    jobs = JobSettings(timeout_seconds=120, retries=retries, retry_intervals=[1] if retries else [])
    job = enqueue_diagnosis(redis, pod_request(), thread, jobs)
    first = WorkerProcess(env, tmp_path / "first.log")
    try:
        wait_until(lambda: _status(redis, job.id) == JobStatus.STARTED, "the job started", 30)
        wait_until(lambda: kube.request_count(POD_PATH) >= 1, "the hanging API call", 30)
        first.kill9()
    finally:
        first.stop()
    killed_at = time.monotonic()
    second = WorkerProcess(env, tmp_path / "second.log")
    try:
        if expect == "answer":
            wait_until(lambda: ANSWER in thread_text(fake_slack, thread), "the retried job's answer", 60)
            wait_until(lambda: _status(redis, job.id) == JobStatus.FINISHED, "the job marked finished", 10)
        else:
            wait_until(lambda: "worker running this diagnosis died" in thread_text(fake_slack, thread),
                       "the thread told of the death", 60)
            assert f"error id `{job.id[:8]}`" in thread_text(fake_slack, thread)
            wait_until(lambda: _status(redis, job.id) == JobStatus.FAILED, "the job marked failed", 10)
        took = time.monotonic() - killed_at
    finally:
        output = second.stop()
    assert took < 60, output
    if expect == "answer":  # the retry was scheduled: the dead worker's scheduler lock had to be taken over
        assert "released the scheduler lock" in output
    print(f"kill -9 -> {expect} in {took:.1f} s")


def test_worker_reconnects_when_redis_dies_mid_job(
    durable_redis: RedisServer, fake_slack: FakeSlackServer, kube: FakeKubeServer, tmp_path: Path
) -> None:
    redis = Redis.from_url(durable_redis.url)
    env = worker_env(durable_redis, fake_slack, kube, tmp_path)
    kube.delay(POD_PATH, 4, times=1)
    jobs = JobSettings(timeout_seconds=120, retries=1, retry_intervals=[1])
    during = post_root(fake_slack)
    job = enqueue_diagnosis(redis, pod_request(), during, jobs)
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        wait_until(lambda: _status(redis, job.id) == JobStatus.STARTED, "the job started", 30)
        durable_redis.halt()  # Redis gone while the job waits on the API server
        time.sleep(6)  # the job's API call returns; posting and recording meet a dead Redis
        durable_redis.start(same_port=True)
        redis = Redis.from_url(durable_redis.url)
        wait_until(lambda: ANSWER in thread_text(fake_slack, during)
                   or "worker running this diagnosis died" in thread_text(fake_slack, during),
                   "the in-flight job answered (or reported)", 60)
        after = post_root(fake_slack)
        enqueue_diagnosis(redis, pod_request(), after, jobs)
        wait_until(lambda: ANSWER in thread_text(fake_slack, after), "a job queued after the restart answered", 60)
        assert worker.process.poll() is None, "the worker exited"
    finally:
        output = worker.stop()
    assert ("Redis at" in output and "answers again" in output) or "could not connect to Redis" in output
