"""The RQ job entry points a worker process runs: module-level functions taking primitives.

``bot.queueing`` enqueues :func:`diagnose` with a request dict and a thread dict; the worker
process calls :func:`configure` once with its cluster, runbook catalogue and publisher, then
RQ calls :func:`diagnose` per job. A payload that cannot be read (a malformed request dict, a
kind clusterdoc does not diagnose) is answered in the thread and not run or retried: it would
fail the same way every time. :func:`diagnosis_failed` is the job's ``on_failure`` callback: it
logs every failure and, once no retry is left, tells the thread so the person who asked is never
left waiting on a job that died.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from rq import get_current_job
from rq.exceptions import AbandonedJobError
from rq.job import Job
from rq.timeouts import JobTimeoutException

from clusterdoc.queue import DiagnosisRequest, ThreadRef, refusal
from clusterdoc.report import Report
from clusterdoc.workers import sources
from clusterdoc.workers.cluster.base import Cluster
from clusterdoc.workers.etcd_client import EtcdClient
from clusterdoc.workers.publish import Publisher
from clusterdoc.workers.remediation.catalogue import use_catalogue_risks
from clusterdoc.workers.remediation.offers import OfferSink, approvable
from clusterdoc.workers.runbook.engine import run_request
from clusterdoc.workers.runbook.loader import Catalogue

log = logging.getLogger(__name__)

FAILED_TEXT = (
    ":x: The diagnosis failed after {attempts} attempt(s) (error id `{error_id}`); "
    "the worker log has the traceback under that id."
)
WORKER_DIED_TEXT = (
    ":skull: The worker running this diagnosis died (killed or lost) after {attempts} attempt(s) "
    "(error id `{error_id}`); ask again to run it anew."
)
TIMED_OUT_TEXT = ":hourglass: The diagnosis did not finish within {seconds} s and was stopped (error id `{error_id}`)."
WRONG_CLUSTER_TEXT = "This job was meant for cluster `{wanted}` but reached a worker of cluster `{actual}`; not run."
BAD_PAYLOAD_TEXT = ":x: This diagnosis job could not be read ({problem}), so it was not run (error id `{error_id}`)."


class BadPayload(ValueError):
    """A job argument that is not a request or thread this worker can run."""


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


def budget_seconds(job_timeout: float | None) -> float | None:
    """How long a job's cluster reads may take: its RQ timeout minus time kept to post the report."""
    if not job_timeout or job_timeout <= 0:
        return None
    return job_timeout - min(30.0, max(5.0, job_timeout * 0.2))


def start_budget(cluster: Cluster) -> None:
    """Give the cluster backend this job's budget, so a hanging API server is named in time."""
    job = get_current_job()
    start = getattr(cluster, "start_budget", None)
    if callable(start):
        start(budget_seconds(job.timeout if job is not None else None))


def read_thread(thread: Any) -> ThreadRef:
    """The thread a job answers in; :class:`BadPayload` when it is not ``{"channel", "ts"}``."""
    if not isinstance(thread, dict):
        raise BadPayload(f"the thread is a {type(thread).__name__}, not an object")
    channel, ts = thread.get("channel"), thread.get("ts")
    if not isinstance(channel, str) or not channel or not isinstance(ts, str | int | float) or not str(ts):
        raise BadPayload("the thread needs a channel and a ts")
    root_text = thread.get("root_text")
    return ThreadRef(channel, str(ts), root_text if isinstance(root_text, str) else "")


def read_request(request: Any) -> DiagnosisRequest:
    """The job's request; :class:`BadPayload` names what is missing, mistyped or refused."""
    if not isinstance(request, dict):
        raise BadPayload(f"the request is a {type(request).__name__}, not an object")
    for key in ("verb", "runbook"):
        if not isinstance(request.get(key), str) or not request[key]:
            raise BadPayload(f"the request has no {key}")
    target = request.get("target")
    if target is not None:
        if not isinstance(target, dict) or not all(isinstance(target.get(key), str) for key in ("kind", "name")):
            raise BadPayload("the request's target needs a kind and a name")
        problem = refusal(target["kind"])
        if problem is not None:
            raise BadPayload(f"the request's target: {problem}")
    params = request.get("params") or {}
    if not isinstance(params, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in params.items()):
        raise BadPayload("the request's params must map names to strings")
    for key in ("cluster", "command", "requested_by"):
        if not isinstance(request.get(key, ""), str):
            raise BadPayload(f"the request's {key} is not a string")
    return DiagnosisRequest.from_json(request)


def _bad_payload(ctx: WorkerContext, exc: BadPayload, thread: Any) -> dict[str, Any]:
    ident = uuid.uuid4().hex[:8]
    log.error("diagnosis job payload rejected: %s [error %s]", exc, ident)
    try:
        where = read_thread(thread)
    except BadPayload:
        return {"run": False, "reason": f"bad payload: {exc}"}  # nowhere to answer; the log has it
    ctx.publisher.publish_error(BAD_PAYLOAD_TEXT.format(problem=exc, error_id=ident), where)
    return {"run": False, "reason": f"bad payload: {exc}"}


def diagnose(request: dict[str, Any], thread: dict[str, Any]) -> dict[str, Any]:
    """Run the request's runbook, post the report into ``thread`` and return a short summary."""
    ctx = context()
    try:
        where = read_thread(thread)
        parsed = read_request(request)
    except BadPayload as exc:
        return _bad_payload(ctx, exc, thread)
    runbook = ctx.catalogue.get(parsed.runbook)
    accepted = runbook.spec.targets if runbook is not None else []
    if parsed.target is not None and accepted and parsed.target.kind not in accepted:
        return _bad_payload(ctx, BadPayload(f"runbook {parsed.runbook} does not take a {parsed.target.kind}"), thread)
    if parsed.cluster != ctx.cluster.name:
        ctx.publisher.publish_error(WRONG_CLUSTER_TEXT.format(wanted=parsed.cluster, actual=ctx.cluster.name), where)
        return {"runbook": parsed.runbook, "run": False, "reason": "wrong cluster"}
    before = ctx.cluster.request_count()
    start_budget(ctx.cluster)
    report = run_request(ctx.catalogue, parsed, ctx.cluster)
    use_catalogue_risks(report)  # the thread and the Approve message show the same risk
    ctx.publisher.publish(report, where)
    offered = approvable(ctx.cluster, report, etcd_for_offers(report)) if ctx.offers is not None else []
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


def etcd_for_offers(report: Report) -> EtcdClient | None:
    """etcd access to record the identity of an offered etcd member (None when none is offered)."""
    if not any(r.target.kind == "EtcdMember" for r in report.remediations):
        return None
    return sources.current().etcd


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
    elif isinstance(exc_value, AbandonedJobError):
        text = WORKER_DIED_TEXT.format(attempts=job.meta.get("max_attempts", 1), error_id=ident)
    else:
        text = FAILED_TEXT.format(attempts=job.meta.get("max_attempts", 1), error_id=ident)
    try:
        thread = ThreadRef.from_json(job.args[1])
        context().publisher.publish_error(text, thread)
    except Exception:  # the job's own failure is already recorded; do not mask it
        log.exception("could not tell the thread that job %s failed [error %s]", job.id, ident)
