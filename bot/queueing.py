"""Puts diagnosis jobs on the RQ queue of the cluster they are for.

Each cluster has its own queue, ``clusterdoc:<cluster>``, served by that cluster's workers
(which hold the cluster credentials; the bot never does). A job carries only primitives (the
request and the thread as dicts), a timeout, a retry policy and the ``on_failure`` callback
that tells the thread when the last attempt failed.
"""

from __future__ import annotations

import uuid

from redis import Redis
from rq import Callback, Queue, Retry, Worker
from rq.job import Job

from bot.config import JobSettings
from workers.publish import ThreadRef
from workers.request import DiagnosisRequest

QUEUE_PREFIX = "clusterdoc:"
JOB_FUNCTION = "workers.jobs.diagnose"
FAILURE_CALLBACK = "workers.jobs.diagnosis_failed"
FAILURE_TTL_SECONDS = 7 * 24 * 3600


def queue_name(cluster: str) -> str:
    """``clusterdoc:prod`` for cluster ``prod``."""
    return f"{QUEUE_PREFIX}{cluster}"


def cluster_queue(connection: Redis, cluster: str) -> Queue:
    return Queue(queue_name(cluster), connection=connection)


def listening_workers(connection: Redis, cluster: str) -> int:
    """How many workers listen on the cluster's queue right now (raises redis errors when down)."""
    return Worker.count(queue=cluster_queue(connection, cluster))


def enqueue_diagnosis(
    connection: Redis, request: DiagnosisRequest, thread: ThreadRef, jobs: JobSettings, *, job_id: str | None = None
) -> Job:
    """Enqueue ``workers.jobs.diagnose`` for ``request``; raises redis errors when Redis is down."""
    queue = cluster_queue(connection, request.cluster)
    retry = Retry(max=jobs.retries, interval=list(jobs.retry_intervals) or 0) if jobs.retries else None
    job = queue.enqueue(
        JOB_FUNCTION,
        args=(request.to_json(), thread.to_json()),
        job_id=job_id or uuid.uuid4().hex,
        job_timeout=jobs.timeout_seconds,
        retry=retry,
        on_failure=Callback(FAILURE_CALLBACK),
        result_ttl=jobs.result_ttl_seconds,
        failure_ttl=FAILURE_TTL_SECONDS,
        description=f"{request.runbook} {request.target.ref() if request.target else request.cluster}",
        meta={"max_attempts": jobs.retries + 1, "channel": thread.channel, "thread_ts": thread.ts},
    )
    return job
