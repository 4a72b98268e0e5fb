"""Issue 10 item 1: the queue speaks JSON only and runs only clusterdoc's own job functions.

A crafted pickle job is written straight into the real Redis the way an attacker with Redis
access would; the real burst worker must refuse it and run nothing (the pickle's payload would
create a file). A JSON job naming a foreign function (``os.system``) is refused the same way, and
a job queued under a 0.1 path (``workers.jobs.diagnose``) still runs the current function.
"""

from __future__ import annotations

import pickle
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis
from rq.job import JobStatus

from clusterdoc.config import Settings
from clusterdoc.queue import (
    DIAGNOSE,
    JSONSerializer,
    ThreadRef,
    UnknownJobPath,
    allowed_function,
    cluster_queue,
    queue_name,
    resolve_job_path,
)
from clusterdoc.workers.jobs import diagnose
from clusterdoc.workers.process import run_worker
from tests.harness.fake_slack import FakeSlackServer
from tests.test_queue_worker import pod_request, post_root, thread_text, worker_settings


class _Exploit:
    """Unpickling this opens (creates) the marker file: proof that code ran in the worker."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def _write_raw_job(redis: Redis, job_id: str, data: bytes, meta: bytes = b"") -> None:
    """A job hash and queue entry exactly as RQ lays them out, written with plain Redis commands."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields: dict[str, bytes | str] = {
        "data": zlib.compress(data), "created_at": now, "enqueued_at": now, "origin": queue_name("default"),
        "status": "queued", "timeout": "60", "description": "crafted",
    }
    if meta:
        fields["meta"] = meta
    redis.hset(f"rq:job:{job_id}", mapping=fields)
    redis.sadd("rq:queues", f"rq:queue:{queue_name('default')}")
    redis.rpush(f"rq:queue:{queue_name('default')}", job_id)


@pytest.fixture
def cluster_settings(redis_url: str, fake_slack: FakeSlackServer, examples_dir: Path, tmp_path: Path) -> Settings:
    settings = worker_settings(redis_url, fake_slack, tmp_path / "unused-kubeconfig")
    return settings.model_copy(update={"CLUSTERDOC_SNAPSHOT": str(examples_dir / "taint-pending")})


def test_pickled_job_in_redis_is_refused_and_runs_nothing(
    redis_url: str, cluster_settings: Settings, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    redis = Redis.from_url(redis_url)
    payload = pickle.dumps((DIAGNOSE, None, (_Exploit(marker),), {}), protocol=pickle.HIGHEST_PROTOCOL)
    _write_raw_job(redis, "crafted-pickle", payload, meta=pickle.dumps({"x": _Exploit(marker)}))
    assert run_worker(cluster_settings, None, burst=True) == 0
    assert not marker.exists(), "the pickle was loaded: code ran in the worker"
    job = cluster_queue(redis, "default").fetch_job("crafted-pickle")
    assert job is not None
    assert job.get_status() == JobStatus.FAILED
    assert "DeserializationError" in (job.latest_result().exc_string or "")  # type: ignore[union-attr]


def test_json_job_naming_a_foreign_function_is_refused(
    redis_url: str, cluster_settings: Settings, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    redis = Redis.from_url(redis_url)
    _write_raw_job(redis, "crafted-json", JSONSerializer.dumps(["os.system", None, [f"touch {marker}"], {}]))
    run_worker(cluster_settings, None, burst=True)
    assert not marker.exists()
    job = cluster_queue(redis, "default").fetch_job("crafted-json")
    assert job is not None and job.get_status() == JobStatus.FAILED
    assert "is not a clusterdoc job" in (job.latest_result().exc_string or "")  # type: ignore[union-attr]


def test_enqueued_jobs_are_json_not_pickle(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    job = cluster_queue(redis, "default").enqueue(DIAGNOSE, args=({"verb": "x"}, {"channel": "C", "ts": "1"}))
    raw = zlib.decompress(redis.hget(f"rq:job:{job.id}", "data") or b"")
    assert JSONSerializer.loads(raw) == [DIAGNOSE, None, [{"verb": "x"}, {"channel": "C", "ts": "1"}], {}]


def test_legacy_job_path_runs_the_current_function(
    redis_url: str, fake_slack: FakeSlackServer, cluster_settings: Settings
) -> None:
    assert resolve_job_path("workers.jobs.diagnose") == DIAGNOSE
    assert allowed_function("workers.jobs.diagnose") is diagnose
    with pytest.raises(UnknownJobPath):
        allowed_function("os.system")
    thread: ThreadRef = post_root(fake_slack)
    redis = Redis.from_url(redis_url)
    job = cluster_queue(redis, "default").enqueue(
        "workers.jobs.diagnose", args=(pod_request().to_json(), thread.to_json()), job_timeout=60
    )
    assert job.func_name == "workers.jobs.diagnose"
    run_worker(cluster_settings, None, burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert "untolerated taint {dedicated: gpu}" in thread_text(fake_slack, thread)
