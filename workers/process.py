"""``clusterdoc worker``: an RQ worker for one cluster's queue, wired to Slack (the worker process's entry point).

It opens the cluster (live API server, or ``CLUSTERDOC_SNAPSHOT``), loads the runbook
catalogue, hands :mod:`clusterdoc.workers.jobs` a Slack publisher, and works the queue
``clusterdoc:<cluster>``. With ``burst`` it uses RQ's ``SimpleWorker`` (no fork: the jobs run in
this process) and exits when the queue is empty; otherwise a forking ``Worker`` with the
scheduler, so retries with intervals are picked up, and a timer that has the approval
claims of workers that died mid-execution reported every few minutes.
"""

from __future__ import annotations

import logging
import threading
import time

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from clusterdoc import redis_connection
from clusterdoc.config import ConfigError, Settings
from clusterdoc.logs import announce
from clusterdoc.metrics import clear_multiprocess_dir
from clusterdoc.queue import SWEEP_INTERVAL_SECONDS, cluster_queue, enqueue_sweep, worker_for
from clusterdoc.slack.client import paced_web_client
from clusterdoc.slack.publisher import SlackPublisher
from clusterdoc.workers import jobs, recovery
from clusterdoc.workers.approvals import jobs as approval_jobs
from clusterdoc.workers.approvals.jobs import ServiceOffers
from clusterdoc.workers.cluster.base import ClusterError
from clusterdoc.workers.cluster.factory import open_cluster
from clusterdoc.workers.observe import ObservedSimpleWorker, ObservedWorker, serve_metrics
from clusterdoc.workers.publish import Publisher
from clusterdoc.workers.recovery import Timings
from clusterdoc.workers.runbook.loader import Catalogue

log = logging.getLogger(__name__)


class ContinuousWorker(recovery.MonitorSurvivesRedisLoss, ObservedWorker):
    """The continuous worker: observed, and its horse monitoring survives a lost Redis."""


def _sweep_timer(connection: Redis, queue: Queue, stop: threading.Event) -> None:
    while not stop.wait(SWEEP_INTERVAL_SECONDS):
        try:
            enqueue_sweep(connection, queue)
        except RedisError as exc:  # the worker itself reports Redis trouble; try again next time
            log.warning("could not enqueue the stalled-claims sweep: %s", exc)


def prepare_worker(settings: Settings, cluster: str | None, publisher: Publisher | None = None) -> str:
    """Open the cluster, load runbooks and configure :mod:`clusterdoc.workers.jobs`; returns the cluster name.

    Raises :class:`ConfigError` (one line naming the problem) when the cluster cannot be opened;
    ``clusterdoc.workers.runbook.loader.RunbookError`` lists broken runbook files.
    """
    name = cluster or settings.CLUSTERDOC_CLUSTER
    if publisher is None:
        settings.require("SLACK_BOT_TOKEN", why="by the worker to post findings")
        connection = redis_connection.connect(settings)
        publisher = SlackPublisher(paced_web_client(settings, connection), connection)
    catalogue = Catalogue.load(settings.runbook_folders())
    try:
        opened = open_cluster(name, snapshot=settings.CLUSTERDOC_SNAPSHOT, kubeconfig=settings.KUBECONFIG)
    except ClusterError as exc:
        raise ConfigError(f"cluster {name}: {exc}") from exc
    jobs.configure(opened, catalogue, publisher, _approvals(settings))
    return name


def _approvals(settings: Settings) -> ServiceOffers | None:
    """Configure the approval click job of this process; the sink for offers (None without Slack)."""
    if not settings.SLACK_BOT_TOKEN:
        return None
    connection = redis_connection.connect(settings)
    service = approval_jobs.build_service(
        settings, settings.file_config().approvals, connection, paced_web_client(settings, connection)
    )
    approval_jobs.configure(service)
    return ServiceOffers(service)


def run_worker(settings: Settings, cluster: str | None, burst: bool, metrics_port: int | None = None) -> int:
    """Work the queue of ``cluster`` (default ``CLUSTERDOC_CLUSTER``); returns the exit status.

    ``metrics_port``: serve ``/metrics`` and ``/healthz`` there (``workers.observe``). A continuous
    worker survives Redis going away: when RQ's loop gives up on a lost connection it waits for
    Redis with backoff and starts a fresh RQ worker (:func:`_work_until_stopped`); a reaper thread
    hands jobs of dead workers back to RQ within about 3 heartbeats.
    """
    name = prepare_worker(settings, cluster)
    connection = redis_connection.connect(settings, socket_timeout=None)
    where = redis_connection.describe(settings)
    try:
        connection.ping()
    except RedisError as exc:
        raise ConfigError(f"REDIS_URL: cannot reach Redis at {where}: {exc}") from exc
    queue = cluster_queue(connection, name)
    clear_multiprocess_dir()
    if metrics_port:
        serve_metrics(metrics_port)
    source = f"snapshot {settings.CLUSTERDOC_SNAPSHOT}" if settings.CLUSTERDOC_SNAPSHOT else (
        f"kubeconfig {settings.KUBECONFIG}" if settings.KUBECONFIG else "kubeconfig or in-cluster credentials")
    announce(f"clusterdoc worker: cluster {name} ({source}) · queue {queue.name} · redis {settings.redis_location()} · "
             f"mode {'burst (exits when the queue is empty)' if burst else 'continuous'}")
    stop = threading.Event()
    timings = Timings(settings.CLUSTERDOC_WORKER_HEARTBEAT_SECONDS)
    if not burst:
        side = redis_connection.connect(settings)
        side_queue = cluster_queue(side, name)
        threading.Thread(target=recovery.reaper, args=(side_queue, timings, stop), name="reaper", daemon=True).start()
        if settings.SLACK_BOT_TOKEN:
            threading.Thread(target=_sweep_timer, args=(side, side_queue, stop), name="sweep", daemon=True).start()
    try:
        _work_until_stopped(connection, queue, burst, timings, where)
    finally:
        stop.set()
    return 0


def _work_until_stopped(connection: Redis, queue: Queue, burst: bool, timings: Timings, where: str) -> None:
    """Run RQ workers one after another until one stops on request (or a burst empties the queue)."""
    level = logging.getLevelName(log.getEffectiveLevel())
    while True:
        options = {} if burst else timings.worker_options()
        worker_class = ObservedSimpleWorker if burst else ContinuousWorker
        worker = worker_for([queue], connection, burst=burst, worker_class=worker_class, **options)
        try:
            worker.work(burst=burst, with_scheduler=not burst, logging_level=level)
        except RedisError as exc:  # RQ's own teardown needs Redis too
            log.warning("worker %s stopped on a Redis error: %s", worker.name, type(exc).__name__)
        if getattr(worker, "_stop_requested", False) or getattr(worker, "_shutdown_requested_date", None):
            return  # SIGTERM/SIGINT: a warm shutdown was asked for
        if burst:
            if not recovery.redis_answers(connection):
                log.error("Redis at %s stopped answering during a burst run; the queue is left as it is", where)
            return
        if recovery.redis_answers(connection):
            log.warning("worker %s left its loop; starting a new one", worker.name)
            time.sleep(1.0)
            continue
        recovery.wait_for_redis(connection, where)
