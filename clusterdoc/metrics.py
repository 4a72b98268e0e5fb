"""clusterdoc's own Prometheus metrics (prometheus_client), shared by both processes.

Both processes count their Slack Web API calls and errors by method; the worker counts its jobs
(succeeded, failed, retried, by runbook), their duration and how long they waited in the queue,
and approval decisions by outcome; the bot counts the jobs it enqueues. The bot adds what it reads
from Redis at scrape time (alerts, queue depth, workers, dispatcher liveness; ``bot/metrics.py``).

RQ's forking worker runs each job in a child process: the worker sets ``PROMETHEUS_MULTIPROC_DIR``
before this module is first imported (``clusterdoc worker`` does it, the chart sets it), so the
children's counts add up in the parent's ``/metrics``. :func:`render` exposes either way.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

disable_created_metrics()

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

JOB_DURATION_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)
QUEUE_WAIT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)

SLACK_CALLS = Counter("clusterdoc_slack_api_calls", "Slack Web API calls by method (each attempt)", ["method"])
SLACK_ERRORS = Counter("clusterdoc_slack_api_errors", "Slack Web API calls that failed, by method and Slack error",
                       ["method", "error"])
JOBS_ENQUEUED = Counter("clusterdoc_jobs_enqueued", "Diagnosis jobs enqueued, by runbook", ["runbook"])
JOBS_SUCCEEDED = Counter("clusterdoc_jobs_succeeded", "Jobs that finished, by runbook", ["runbook"])
JOBS_FAILED = Counter("clusterdoc_jobs_failed", "Jobs that failed with no retry left, by runbook", ["runbook"])
JOBS_RETRIED = Counter("clusterdoc_jobs_retried", "Job attempts that failed and were scheduled again, by runbook",
                       ["runbook"])
JOB_DURATION = Histogram("clusterdoc_job_duration_seconds", "Time a worker spent on one job attempt, by runbook",
                         ["runbook"], buckets=JOB_DURATION_BUCKETS)
QUEUE_WAIT = Histogram("clusterdoc_job_queue_wait_seconds", "Time from enqueue to a worker starting the job",
                       ["runbook"], buckets=QUEUE_WAIT_BUCKETS)
APPROVALS = Counter("clusterdoc_approvals", "Approval decisions by outcome (the audit event)", ["outcome"])

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


def label(value: str) -> str:
    """A label value from outside data (a runbook name in a job payload): kept short and tame, else ``other``."""
    return value if _LABEL.match(value) else "other"


def slack_error(method: str, error: str) -> None:
    SLACK_ERRORS.labels(method=label(method), error=label(error or "unknown_error")).inc()


def multiprocess_dir() -> Path | None:
    configured = os.environ.get(MULTIPROC_ENV)
    return Path(configured) if configured else None


def clear_multiprocess_dir() -> None:
    """Remove the files of earlier processes (a restarted container keeps its /tmp)."""
    folder = multiprocess_dir()
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)


def process_registry() -> CollectorRegistry:
    """This process's metrics: the default registry, or the multiprocess files added up."""
    if multiprocess_dir() is None:
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def render(*registries: CollectorRegistry) -> bytes:
    """The text exposition of this process's metrics followed by ``registries``."""
    return b"".join(generate_latest(registry) for registry in (process_registry(), *registries))


def exported_names() -> set[str]:
    """Every sample name this module's metrics expose (``_total``, ``_bucket`` ... included)."""
    names: set[str] = set()
    for metric in (SLACK_CALLS, SLACK_ERRORS, JOBS_ENQUEUED, JOBS_SUCCEEDED, JOBS_FAILED, JOBS_RETRIED,
                   JOB_DURATION, QUEUE_WAIT, APPROVALS):
        for family in metric.describe():
            base = family.name
            if family.type == "counter":
                names.add(base + "_total")
            elif family.type == "histogram":
                names |= {base + "_bucket", base + "_sum", base + "_count"}
            else:
                names.add(base)
    return names
