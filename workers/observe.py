"""What a worker process tells about itself: job metrics, job ids in its logs, and ``/metrics`` + ``/healthz``.

:class:`ObservedWorker` and :class:`ObservedSimpleWorker` are RQ's workers with one addition
around each job attempt: how long it waited in the queue, how long it ran and how it ended
(succeeded, failed, or scheduled again), by runbook (``clusterdoc.metrics``); and the job's id and
error id on every log line made meanwhile (``clusterdoc.logs.log_context``), so the error id a
thread shows finds the worker's log line. :func:`serve_metrics` answers ``GET /metrics`` and
``GET /healthz`` on the worker's own port.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rq import SimpleWorker, Worker
from rq.job import Job, JobStatus
from rq.queue import Queue

from clusterdoc import metrics
from clusterdoc.logs import log_context
from clusterdoc.queue import DIAGNOSE, HANDLE_CLICK, SWEEP_STALLED, TRIAGE_ALERT, resolve_job_path

log = logging.getLogger(__name__)

_KINDS = {HANDLE_CLICK: "approval-click", SWEEP_STALLED: "approval-sweep"}


def job_label(job: Job) -> str:
    """The runbook a job runs (diagnosis and alert triage), else what kind of job it is."""
    try:
        path = resolve_job_path(job.func_name or "")
        if path in (DIAGNOSE, TRIAGE_ALERT) and job.args and isinstance(job.args[0], dict):
            return metrics.label(str(job.args[0].get("runbook", "")))
        return _KINDS.get(path, "other")
    except Exception:  # an unreadable payload: the job itself reports it
        return "other"


def error_id(job: Job) -> str:
    """The id a failure of this job is reported under (the same as ``workers.jobs.error_id``)."""
    return job.id.replace("-", "")[:8]


class JobObserver:
    """Mixin for RQ workers: metrics and log context around each job attempt."""

    def perform_job(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> bool:
        runbook = job_label(job)
        if job.enqueued_at is not None:
            enqueued = job.enqueued_at if job.enqueued_at.tzinfo else job.enqueued_at.replace(tzinfo=UTC)
            waited = (datetime.now(UTC) - enqueued).total_seconds()
            metrics.QUEUE_WAIT.labels(runbook=runbook).observe(max(waited, 0.0))
        started = time.monotonic()
        with log_context(job_id=job.id, error_id=error_id(job), runbook=runbook):
            ok: bool = super().perform_job(job, queue, *args, **kwargs)  # type: ignore[misc]
        metrics.JOB_DURATION.labels(runbook=runbook).observe(time.monotonic() - started)
        if ok:
            metrics.JOBS_SUCCEEDED.labels(runbook=runbook).inc()
        elif job.get_status(refresh=False) in (JobStatus.SCHEDULED, JobStatus.QUEUED):
            metrics.JOBS_RETRIED.labels(runbook=runbook).inc()
        else:
            metrics.JOBS_FAILED.labels(runbook=runbook).inc()
        return ok


class ObservedWorker(JobObserver, Worker):
    """RQ's forking worker, observed (the job metrics of its work horses add up through the multiprocess files)."""


class ObservedSimpleWorker(JobObserver, SimpleWorker):
    """RQ's in-process worker (``--burst``), observed."""


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/metrics":
            body, status, kind = metrics.render(), 200, metrics.CONTENT_TYPE
        elif self.path == "/healthz":
            body, status, kind = b"ok\n", 200, "text/plain"
        else:
            body, status, kind = b"not found\n", 404, "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # scrapes are not news
        pass


def serve_metrics(port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """Serve ``/metrics`` and ``/healthz`` on ``port`` from a daemon thread; returns the server."""
    server = ThreadingHTTPServer((host, port), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("worker metrics on %s:%s", host, server.server_address[1])
    return server
