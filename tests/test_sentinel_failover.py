"""Issue 14: Redis Sentinel failover *while* a diagnosis job runs, with both processes as an operator starts them.

Real processes throughout: a redis-server master and its replica, one ``redis-server --sentinel``
(quorum 1, 1 s down-after), ``clusterdoc serve`` and a continuous ``clusterdoc worker`` (1 s
heartbeat), both configured only through ``REDIS_SENTINELS``/``REDIS_SENTINEL_MASTER``. The fake API
server holds the pod's answer, so the job is in flight when the master is killed with SIGKILL.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
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
from tests.harness.signing import signed_headers, slash_command_body
from tests.test_hardening_redis import SentinelSetup
from tests.test_hardening_worker import ANSWER, POD_PATH, WorkerProcess

SECRET = "sentinel-signing-secret-0123456789ab"
HELD_SECONDS = 8  # the pod's answer is held this long: the failover happens inside it


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


def test_master_killed_while_a_job_runs_the_report_arrives_once_and_serve_goes_on(
    tmp_path: Path, fake_slack: FakeSlackServer, fake_kube: FakeKubeFactory, examples_dir: Path
) -> None:
    kube = fake_kube(examples_dir / "taint-pending")
    setup = SentinelSetup(tmp_path)
    redis_settings = {"REDIS_URL": "redis://unused:1/0", "REDIS_SENTINELS": f"127.0.0.1:{setup.port}",
                      "REDIS_SENTINEL_MASTER": "main"}
    env = process_env(SLACK_BOT_TOKEN="xoxb-sentinel", SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake_slack.url,
                      KUBECONFIG=str(write_kubeconfig(tmp_path / "kubeconfig", kube.url)),
                      CLUSTERDOC_WORKER_HEARTBEAT_SECONDS="1", **redis_settings)
    master = connect(load_settings(redis_settings))  # follows the failover, as the processes do
    serve = ServeProcess(env)
    worker = WorkerProcess(env, tmp_path / "worker.log")
    timings: dict[str, float] = {}
    try:
        kube.delay(POD_PATH, HELD_SECONDS, times=1)
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

        wait_until(lambda: replies_with_answer(fake_slack, during) >= 1, "the in-flight job's report", 40)
        timings["reported"] = time.monotonic() - start
        wait_until(lambda: status(master, job_id) == JobStatus.FINISHED, "the job recorded finished", 20)
        timings["finished"] = time.monotonic() - start

        after = slash_command(serve, fake_slack)  # serve enqueues on the new master
        wait_until(lambda: replies_with_answer(fake_slack, after) == 1, "the post-failover command's report", 30)
        timings["second report"] = time.monotonic() - start

        time.sleep(3)  # three heartbeats: a reaper that took the running job for abandoned would have acted
        # the job ran once, to the end, in its first attempt: one report, no failure notice, no retry pending
        assert replies_with_answer(fake_slack, during) == 1, thread_of(fake_slack, during)
        assert "died" not in thread_of(fake_slack, during) and "failed" not in thread_of(fake_slack, during)
        job = cluster_queue(master, "default").fetch_job(job_id)
        assert job is not None and job.get_status() == JobStatus.FINISHED
        assert job.retries_left == 2  # serve's default retries, none spent
        assert cluster_queue(master, "default").scheduled_job_registry.get_job_ids() == []
        assert kube.request_count(POD_PATH) == 2  # one GET of the pod per job: nothing ran twice
        assert worker.process.poll() is None, "the worker exited"
        assert serve.process.poll() is None, "serve exited"
    finally:
        output = worker.stop()
        serve.stop()
        setup.stop()
    assert "could not send the heartbeat of job" in output  # the failover did happen under the running job
    assert "jobs of a dead worker found" not in output, output
    print("; ".join(f"{what} {seconds:.1f} s after SIGKILL" for what, seconds in timings.items()))
