"""The queue contract between ``serve`` and ``worker``: one module both sides import.

Everything that crosses Redis is spelled here once: the queue of each cluster
(``clusterdoc:<cluster>``), the dotted paths of the job functions RQ resolves on the worker,
the payload types those jobs take (:class:`DiagnosisRequest`, :class:`ThreadRef`,
:class:`Click`, all primitives in and out), timeouts and retry policy, the Redis keys both
processes touch, and :func:`refusal`, the one rule for which targets are never diagnosed (the
command parser, the job and the runbook engine all ask it). Job paths that queued jobs of the
previous release carry are kept as aliases for one release (:data:`LEGACY_JOB_PATHS`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from redis import Redis
from rq import Callback, Queue, Retry, Worker
from rq.job import Job as RQJob
from rq.utils import import_attribute
from rq.worker import BaseWorker

from clusterdoc import kinds
from clusterdoc.approvals.store import CLAIM_TIMEOUT_SECONDS
from clusterdoc.config import JobSettings
from clusterdoc.report import Target

QUEUE_PREFIX = "clusterdoc:"
"""Each cluster's RQ queue is ``clusterdoc:<cluster>``."""

# -- job function paths (resolved by RQ on the worker; serve never imports them) -------------------
DIAGNOSE = "clusterdoc.workers.jobs.diagnose"
DIAGNOSIS_FAILED = "clusterdoc.workers.jobs.diagnosis_failed"
TRIAGE_ALERT = "clusterdoc.workers.alert_jobs.triage_alert"
HANDLE_CLICK = "clusterdoc.workers.approvals.jobs.handle_click"
SWEEP_STALLED = "clusterdoc.workers.approvals.jobs.sweep_stalled"

LEGACY_JOB_PATHS: dict[str, str] = {
    "workers.jobs.diagnose": DIAGNOSE,
    "workers.jobs.diagnosis_failed": DIAGNOSIS_FAILED,
    "workers.alert_jobs.triage_alert": TRIAGE_ALERT,
    "bot.approvals.jobs.handle_click": HANDLE_CLICK,
    "bot.approvals.jobs.sweep_stalled": SWEEP_STALLED,
}
"""Paths jobs queued by release 0.1 carry (before the one-package layout); kept for one release."""

# -- timeouts and retention -------------------------------------------------------------------
FAILURE_TTL_SECONDS = 7 * 24 * 3600
CLICK_JOB_TIMEOUT_SECONDS = CLAIM_TIMEOUT_SECONDS
"""Longer than the longest drain (timeout_seconds is at most 3600); a claim's deadline follows it."""
CLICK_RESULT_TTL_SECONDS = 24 * 3600
SWEEP_JOB_TIMEOUT_SECONDS = 120
SWEEP_INTERVAL_SECONDS = 300

# -- Redis keys both processes touch ------------------------------------------------------------
TRIAGE_INFLIGHT_KEY = "clusterdoc:triage:inflight"
"""Alert triage items enqueued and not yet finished (the dispatcher bounds it; the job removes its own)."""
DELIVERED_PREFIX = "clusterdoc:delivered:"
"""Per RQ job: the parts of a report already posted (a retry skips them)."""
SWEEP_LOCK_PREFIX = "clusterdoc:sweep:"
"""One stalled-claims sweep per cluster queue per interval."""


JOB_PATHS: frozenset[str] = frozenset({DIAGNOSE, DIAGNOSIS_FAILED, TRIAGE_ALERT, HANDLE_CLICK, SWEEP_STALLED})
"""The only functions a clusterdoc worker runs (jobs and callbacks); anything else in Redis is refused."""


class UnknownJobPath(ValueError):
    """A job (or callback) names a function that is not one of :data:`JOB_PATHS` (nor a legacy alias)."""


def queue_name(cluster: str) -> str:
    """``clusterdoc:prod`` for cluster ``prod``."""
    return f"{QUEUE_PREFIX}{cluster}"


def resolve_job_path(path: str) -> str:
    """The current job path for ``path`` (legacy aliases mapped; other paths unchanged)."""
    return LEGACY_JOB_PATHS.get(path, path)


# -- serialization and the job class (both processes; never pickle) ---------------------------------
class JSONSerializer:
    """RQ serializer that only speaks strict JSON: no pickle, so nothing in Redis can run code.

    ``loads`` refuses anything that is not UTF-8 JSON (a pickled job fails to load and is never
    unpickled) and the non-standard constants ``NaN``/``Infinity``; ``dumps`` refuses objects JSON
    cannot carry (jobs take and return primitives only).
    """

    @staticmethod
    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, allow_nan=False, separators=(",", ":")).encode("utf-8")

    @staticmethod
    def loads(data: bytes | str) -> Any:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def allowed_function(path: str | None) -> Callable[..., Any] | None:
    """The function a job (or callback) path names, legacy aliases resolved; only :data:`JOB_PATHS`."""
    if path is None:
        return None
    current = resolve_job_path(path)
    if current not in JOB_PATHS:
        raise UnknownJobPath(f"job function {path!r} is not a clusterdoc job")
    function: Callable[..., Any] = import_attribute(current)
    return function


class Job(RQJob):
    """RQ's job, resolved the clusterdoc way: JSON only, known functions only, legacy paths mapped.

    A job whose ``func_name`` is a 0.1 path (``workers.jobs.diagnose``) runs the current function;
    a job or callback naming any other function (``os.system``) raises :class:`UnknownJobPath` and
    fails without running anything; jobs carrying an instance (method jobs) are refused too.
    """

    def __init__(self, id: str | None = None, connection: Redis | None = None, serializer: Any = None) -> None:
        super().__init__(id, connection=connection, serializer=JSONSerializer)

    @property
    def func(self) -> Any:
        if self.instance is not None:
            raise UnknownJobPath("method jobs are not clusterdoc jobs")
        return allowed_function(self.func_name)

    @property
    def success_callback(self) -> Any:
        return allowed_function(self._success_callback_name) if self._success_callback_name else None

    @property
    def failure_callback(self) -> Any:
        return allowed_function(self._failure_callback_name) if self._failure_callback_name else None

    @property
    def stopped_callback(self) -> Any:
        return allowed_function(self._stopped_callback_name) if self._stopped_callback_name else None


def refusal(kind: str, *, runbook: str = "", accepted: Sequence[str] = ()) -> str | None:
    """Why a target of ``kind`` is not diagnosed (by ``runbook``, taking ``accepted`` kinds), or None.

    The one rule: Secrets are never read, whatever asks; an unknown kind is refused; a runbook
    that names the kinds it takes refuses the others.
    """
    if kind in kinds.NEVER_READ_KINDS:
        return f"a {kind} is never read: the diagnostic role has no access to {kind}s"
    try:
        kinds.by_kind(kind)
    except KeyError:
        return f"unknown kind {kind!r}"
    if accepted and kind not in accepted:
        return f"runbook {runbook} does not take a {kind} (it takes: {', '.join(accepted)})"
    return None


# -- payload types -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ThreadRef:
    """A chat thread: the channel and the timestamp (``ts``) of its root message."""

    channel: str
    ts: str
    root_text: str = ""
    """The root's text as the bot posted it (``why-pending shop/web-0, asked by …``): the worker keeps
    it when it edits the root's "working on it…" into the verdict. Empty: the root is not edited."""

    def to_json(self) -> dict[str, Any]:
        data = {"channel": self.channel, "ts": self.ts}
        if self.root_text:
            data["root_text"] = self.root_text
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ThreadRef:
        return cls(channel=str(data["channel"]), ts=str(data["ts"]), root_text=str(data.get("root_text") or ""))


@dataclass(frozen=True)
class DiagnosisRequest:
    """One runbook run: which runbook, on what, in which cluster, with which parameters."""

    verb: str
    runbook: str
    target: Target | None
    cluster: str = "default"
    params: dict[str, str] = field(default_factory=dict)
    command: str = ""
    requested_by: str = ""
    """The chat user who asked (offers of remediations name them; the two-person rule needs it)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "verb": self.verb,
            "runbook": self.runbook,
            "target": self.target.to_json() if self.target else None,
            "cluster": self.cluster,
            "params": dict(self.params),
            "command": self.command,
            "requested_by": self.requested_by,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DiagnosisRequest:
        target = Target.from_json(data["target"]) if data.get("target") else None
        return cls(
            verb=data["verb"],
            runbook=data["runbook"],
            target=target,
            cluster=data.get("cluster", "default"),
            params=dict(data.get("params") or {}),
            command=data.get("command", ""),
            requested_by=data.get("requested_by", ""),
        )


@dataclass(frozen=True)
class Click:
    """One Approve/Dismiss button press, as the listener extracted it from Slack's payload."""

    pending_id: str
    user: str
    kind: Literal["approve", "dismiss"]
    channel: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Click:
        return cls(**data)


# -- enqueueing ------------------------------------------------------------------------------------
def named_queue(connection: Redis, name: str) -> Queue:
    """An RQ queue the clusterdoc way (JSON serializer, :class:`Job`); every queue is opened here."""
    return Queue(name, connection=connection, serializer=JSONSerializer, job_class=Job)


def cluster_queue(connection: Redis, cluster: str) -> Queue:
    return named_queue(connection, queue_name(cluster))


def worker_for(queues: Sequence[Queue], connection: Redis, *, burst: bool = False,
               worker_class: type[BaseWorker] | None = None, **options: Any) -> BaseWorker:
    """The RQ worker for ``queues``: JSON serializer and :class:`Job`, like the queues (burst: no fork).

    ``worker_class`` replaces RQ's ``SimpleWorker``/``Worker`` (the worker process passes its observed ones).
    """
    from rq import SimpleWorker

    chosen = worker_class or (SimpleWorker if burst else Worker)
    return chosen(list(queues), connection=connection, serializer=JSONSerializer, job_class=Job, **options)


def listening_workers(connection: Redis, cluster: str) -> int:
    """How many workers listen on the cluster's queue right now (raises redis errors when down)."""
    return Worker.count(queue=cluster_queue(connection, cluster))


def retry_policy(jobs: JobSettings) -> Retry | None:
    return Retry(max=jobs.retries, interval=list(jobs.retry_intervals) or 0) if jobs.retries else None


def enqueue_diagnosis(
    connection: Redis, request: DiagnosisRequest, thread: ThreadRef, jobs: JobSettings, *, job_id: str | None = None
) -> RQJob:
    """Enqueue :data:`DIAGNOSE` for ``request``; raises redis errors when Redis is down."""
    queue = cluster_queue(connection, request.cluster)
    return queue.enqueue(
        DIAGNOSE,
        args=(request.to_json(), thread.to_json()),
        job_id=job_id or uuid.uuid4().hex,
        job_timeout=jobs.timeout_seconds,
        retry=retry_policy(jobs),
        on_failure=Callback(DIAGNOSIS_FAILED),
        result_ttl=jobs.result_ttl_seconds,
        failure_ttl=FAILURE_TTL_SECONDS,
        description=f"{request.runbook} {request.target.ref() if request.target else request.cluster}",
        meta={"max_attempts": jobs.retries + 1, "channel": thread.channel, "thread_ts": thread.ts},
    )


def enqueue_click(connection: Redis, cluster: str, click: Click, *, description: str = "") -> RQJob:
    """Enqueue :data:`HANDLE_CLICK` on the queue of the cluster the pending action is for."""
    return cluster_queue(connection, cluster).enqueue(
        HANDLE_CLICK, args=(click.to_json(),), job_timeout=CLICK_JOB_TIMEOUT_SECONDS,
        result_ttl=CLICK_RESULT_TTL_SECONDS, failure_ttl=FAILURE_TTL_SECONDS, description=description or None,
    )


def enqueue_sweep(connection: Redis, cluster_queue_: Queue, interval: float = SWEEP_INTERVAL_SECONDS) -> bool:
    """Enqueue one stalled-claims sweep for this queue unless another worker did this interval."""
    if not connection.set(f"{SWEEP_LOCK_PREFIX}{cluster_queue_.name}", "1", nx=True, ex=max(int(interval), 1)):
        return False
    cluster_queue_.enqueue(SWEEP_STALLED, job_timeout=SWEEP_JOB_TIMEOUT_SECONDS, result_ttl=0, failure_ttl=3600)
    return True
