"""Issue 14: Redis Sentinel failover *while* a diagnosis job runs, with both processes as an operator starts them.

Real processes throughout: a redis-server master and its replica, one ``redis-server --sentinel``
(quorum 1), ``clusterdoc serve`` and a continuous ``clusterdoc worker`` (1 s heartbeat, so a job
silent for 3 s counts as a dead worker's), both configured only through
``REDIS_SENTINELS``/``REDIS_SENTINEL_MASTER``. The fake API server holds the pod's answer, so the
job is in flight when the master is killed with SIGKILL.

The guarantee shown: a job running across the failover is not disturbed (its one attempt finishes
on the promoted replica, no retry spent or pending, the pod read once), whether Sentinel promotes
within 3 heartbeats or beyond (as production's 30 s down-after is beyond the worker's 30 s); a job
that ends while there is no master runs once more. Either way its thread gets the report exactly
once and no failure notice, and ``serve`` enqueues the next command on the new master.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from redis import Redis
from redis.exceptions import RedisError
from rq.job import JobStatus

from clusterdoc.config import load_settings
from clusterdoc.queue import cluster_queue
from clusterdoc.redis_connection import connect
from tests.conftest import FakeKubeFactory
from tests.harness.fake_kube import write_kubeconfig
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.processes import ServeProcess, process_env, wait_until
from tests.harness.redis_sentinel import Sentinels
from tests.harness.signing import signed_headers, slash_command_body
from tests.test_hardening_worker import ANSWER, POD_PATH, WorkerProcess

SECRET = "sentinel-signing-secret-0123456789ab"
HEARTBEAT = 1  # the worker's; a job silent for 3 heartbeats belongs to a dead worker


def slash_command(serve: ServeProcess, fake_slack: FakeSlackServer) -> str:
    """``/k8s describe web-0 -n shop`` to the running bot; returns the ts of the thread root it posted."""
    before = {message["ts"] for message in fake_slack.posted_messages("C123")}
    body = slash_command_body(text="describe web-0 -n shop", user_id="U123", channel_id="C123",
                              response_url=fake_slack.response_url())
    response = httpx.post(f"{serve.url}/slack/events", content=body, headers=signed_headers(SECRET, body),
                          timeout=5)
    assert response.status_code == 200, response.text
    roots = wait_until(lambda: [m["ts"] for m in fake_slack.posted_messages("C123") if m["ts"] not in before],
                       "the thread root of the command", 10)
    assert len(roots) == 1
    return str(roots[0])


def replies_with_answer(fake_slack: FakeSlackServer, root_ts: str) -> int:
    return sum(ANSWER in str(reply.get("blocks", "")) + reply.get("text", "") for reply in fake_slack.thread(root_ts))


def thread_of(fake_slack: FakeSlackServer, root_ts: str) -> str:
    return "\n".join(str(reply.get("blocks", "")) + reply.get("text", "") for reply in fake_slack.thread(root_ts))


def only_job_id(master: Redis) -> str | None:
    try:
        ids = cluster_queue(master, "default").get_job_ids() + cluster_queue(master, "default").started_job_registry \
            .get_job_ids()
    except RedisError:
        return None
    return ids[0] if len(ids) == 1 else None


def status(master: Redis, job_id: str) -> JobStatus | None:
    try:
        job = cluster_queue(master, "default").fetch_job(job_id)
        return job.get_status() if job is not None else None
    except RedisError:
        return None


@pytest.mark.parametrize(("down_after_ms", "held_seconds", "runs"), [
    (1000, 6, 1),  # promoted well within 3 heartbeats; the job ends on the new master
    (4000, 10, 1),  # promoted beyond 3 heartbeats (as with production defaults); the job ends on the new master
    (6000, 3, 2),  # the job ends while there is no master: it cannot record its end, so it runs again
], ids=["failover-within-dead-after", "failover-beyond-it", "job-ends-without-a-master"])
def test_master_killed_while_a_job_runs_the_report_arrives_once_and_serve_goes_on(
    tmp_path: Path, fake_slack: FakeSlackServer, fake_kube: FakeKubeFactory, examples_dir: Path, down_after_ms: int,
    held_seconds: int, runs: int,
) -> None:
    """The pod's answer is held ``held_seconds``; the master is killed as soon as the job asks for it.

    ``runs``: 1 when the job outlives the failover (its one attempt finishes on the new master, no
    retry spent, the reapers leave it alone); 2 when it ends with no master to record that in: it is
    then taken for a dead worker's once Redis is back and RQ retries it. Either way the thread gets
    the report exactly once and no failure notice.
    """
    kube = fake_kube(examples_dir / "taint-pending")
    setup = Sentinels(tmp_path, down_after_ms)
    config = tmp_path / "clusterdoc.yaml"
    config.write_text("jobs:\n  retries: 2\n  retry_intervals: [1, 1]\n")  # a wrong retry would show at once
    redis_settings = {"REDIS_URL": "redis://unused:1/0", "REDIS_SENTINELS": f"127.0.0.1:{setup.port}",
                      "REDIS_SENTINEL_MASTER": "main"}
    env = process_env(SLACK_BOT_TOKEN="xoxb-sentinel", SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake_slack.url,
                      KUBECONFIG=str(write_kubeconfig(tmp_path / "kubeconfig", kube.url)),
                      CLUSTERDOC_WORKER_HEARTBEAT_SECONDS=str(HEARTBEAT), CLUSTERDOC_CONFIG=str(config),
                      **redis_settings)
    master = connect(load_settings(redis_settings))  # follows the failover, as the processes do
    serve = ServeProcess(env)
    worker = WorkerProcess(env, tmp_path / "worker.log")
    timings: dict[str, float] = {}
    try:
        kube.delay(POD_PATH, held_seconds, times=1)
        during = slash_command(serve, fake_slack)
        job_id = str(wait_until(lambda: only_job_id(master), "the job on the queue", 10))
        wait_until(lambda: kube.request_count(POD_PATH) >= 1, "the job waiting on the API server", 30)
        assert status(master, job_id) == JobStatus.STARTED
        old_port = setup.master.port
        wait_until(lambda: Redis(port=setup.replica.port).exists(f"rq:job:{job_id}") == 1, "replicated", 10)

        start = time.monotonic()
        assert setup.master.process is not None
        setup.master.process.kill()  # SIGKILL: no goodbye to clients, replica or sentinel
        setup.master.process.wait()
        wait_until(lambda: setup.master_port() == setup.replica.port, "the sentinel promoted the replica", 30)
        timings["promoted"] = time.monotonic() - start
        assert setup.master_port() != old_port

        wait_until(lambda: replies_with_answer(fake_slack, during) >= 1, "the in-flight job's report", 60)
        timings["reported"] = time.monotonic() - start
        wait_until(lambda: status(master, job_id) == JobStatus.FINISHED, "the job recorded finished", 20)
        timings["finished"] = time.monotonic() - start

        after = slash_command(serve, fake_slack)  # serve enqueues on the new master
        wait_until(lambda: replies_with_answer(fake_slack, after) == 1, "the post-failover command's report", 30)
        timings["second report"] = time.monotonic() - start

        time.sleep(3 * HEARTBEAT + 2)  # 3 heartbeats and a retry interval: a wrongly reaped job would show by now
        # the job ran once, to the end, in its first attempt: one report, no failure notice, no retry pending
        assert replies_with_answer(fake_slack, during) == 1, thread_of(fake_slack, during)
        assert "worker running this diagnosis died" not in thread_of(fake_slack, during)
        assert "The diagnosis failed" not in thread_of(fake_slack, during)
        job = cluster_queue(master, "default").fetch_job(job_id)
        assert job is not None and job.get_status() == JobStatus.FINISHED
        assert job.retries_left == 3 - runs  # 2 configured
        assert cluster_queue(master, "default").scheduled_job_registry.get_job_ids() == []
        assert kube.request_count(POD_PATH) == runs + 1  # one GET of the pod per run, and the second command's
        assert worker.process.poll() is None, "the worker exited"
        assert serve.process.poll() is None, "serve exited"
    finally:
        output = worker.stop()
        serve.stop()
        setup.stop()
    assert "could not send the heartbeat of job" in output  # the failover did happen under the running job
    assert ("jobs of a dead worker found" in output) == (runs == 2), output
    print("; ".join(f"{what} {seconds:.1f} s after SIGKILL" for what, seconds in timings.items()))
