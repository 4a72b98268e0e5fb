"""The RQ job entry points a worker process runs: module-level functions taking primitives.

``bot.queueing`` enqueues :func:`diagnose` with a request dict and a thread dict; the worker
process calls :func:`configure` once with its cluster, runbook catalogue and publisher, then
RQ calls :func:`diagnose` per job. :func:`diagnosis_failed` is the job's ``on_failure``
callback: it logs every failure and, once no retry is left, tells the thread so the person who
asked is never left waiting on a job that died.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from rq.job import Job
from rq.timeouts import JobTimeoutException

from workers.cluster.base import Cluster
from workers.publish import Publisher, ThreadRef
from workers.remediation.offers import OfferSink, approvable
from workers.request import DiagnosisRequest
from workers.runbook.engine import run_request
from workers.runbook.loader import Catalogue

log = logging.getLogger(__name__)

FAILED_TEXT = (
    ":x: The diagnosis failed after {attempts} attempt(s) (error id `{error_id}`); "
    "the worker log has the traceback under that id."
)
TIMED_OUT_TEXT = ":hourglass: The diagnosis did not finish within {seconds} s and was stopped (error id `{error_id}`)."
WRONG_CLUSTER_TEXT = "This job was meant for cluster `{wanted}` but reached a worker of cluster `{actual}`; not run."


@dataclass(frozen=True)
class WorkerContext:
    """What :func:`diagnose` needs from its process."""

    cluster: Cluster
    catalogue: Catalogue
    publisher: Publisher
    offers: OfferSink | None = None


_context: WorkerContext | None = None


def configure(cluster: Cluster, catalogue: Catalogue, publisher: Publisher, offers: OfferSink | None = None) -> None:
    """Set this process's cluster, catalogue, publisher and (optionally) where approvable fixes go."""
    global _context
    _context = WorkerContext(cluster, catalogue, publisher, offers)


def context() -> WorkerContext:
    """The configured context; RuntimeError if the process never called :func:`configure`."""
    if _context is None:
        raise RuntimeError("workers.jobs.configure() was not called in this worker process")
    return _context


def diagnose(request: dict[str, Any], thread: dict[str, Any]) -> dict[str, Any]:
    """Run the request's runbook, post the report into ``thread`` and return a short summary."""
    ctx = context()
    parsed = DiagnosisRequest.from_json(request)
    where = ThreadRef.from_json(thread)
    if parsed.cluster != ctx.cluster.name:
        ctx.publisher.publish_error(WRONG_CLUSTER_TEXT.format(wanted=parsed.cluster, actual=ctx.cluster.name), where)
        return {"runbook": parsed.runbook, "run": False, "reason": "wrong cluster"}
    before = ctx.cluster.request_count()
    report = run_request(ctx.catalogue, parsed, ctx.cluster)
    ctx.publisher.publish(report, where)
    offered = approvable(ctx.cluster, report) if ctx.offers is not None else []
    if offered and ctx.offers is not None:
        ctx.offers.offer(offered, where, requester=parsed.requested_by, cluster=parsed.cluster)
    return {
        "runbook": report.runbook,
        "run": True,
        "verdict": report.verdict.to_json(),
        "findings": len(report.findings),
        "api_requests": ctx.cluster.request_count() - before,
        "offered": len(offered),
    }


def error_id(job: Job) -> str:
    """The short id a failure is reported under, in the thread and in the log alike."""
    return job.id.replace("-", "")[:8]


def diagnosis_failed(
    job: Job,
    connection: Any,
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    traceback: TracebackType | None,
) -> None:
    """RQ ``on_failure`` callback: log the failure; after the last attempt, say so in the thread."""
    ident = error_id(job)
    exc_info = (exc_type, exc_value, traceback) if exc_type and exc_value else None
    if job.retries_left:
        log.warning("diagnosis job %s failed, %s retries left [error %s]", job.id, job.retries_left, ident,
                    exc_info=exc_info)
        return
    log.error("diagnosis job %s failed for good [error %s]", job.id, ident, exc_info=exc_info)
    if isinstance(exc_value, JobTimeoutException):
        text = TIMED_OUT_TEXT.format(seconds=job.timeout, error_id=ident)
    else:
        text = FAILED_TEXT.format(attempts=job.meta.get("max_attempts", 1), error_id=ident)
    try:
        thread = ThreadRef.from_json(job.args[1])
        context().publisher.publish_error(text, thread)
    except Exception:  # the job's own failure is already recorded; do not mask it
        log.exception("could not tell the thread that job %s failed [error %s]", job.id, ident)
