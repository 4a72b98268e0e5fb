"""``clusterdoc worker``: an RQ worker for one cluster's queue, wired to Slack (the worker process's entry point).

It opens the cluster (live API server, or ``CLUSTERDOC_SNAPSHOT``), loads the runbook
catalogue, hands :mod:`workers.jobs` a Slack publisher, and works the queue
``clusterdoc:<cluster>``. With ``burst`` it uses RQ's ``SimpleWorker`` (no fork: the jobs run in
this process) and exits when the queue is empty; otherwise a forking ``Worker`` with the
scheduler, so retries with intervals are picked up, and a timer that has the approval
claims of workers that died mid-execution reported every few minutes.
"""

from __future__ import annotations

import logging
import threading

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from clusterdoc import redis_connection
from clusterdoc.config import ConfigError, Settings
from clusterdoc.queue import SWEEP_INTERVAL_SECONDS, cluster_queue, enqueue_sweep, worker_for
from clusterdoc.slack.client import paced_web_client
from clusterdoc.slack.publisher import SlackPublisher
from clusterdoc.workers import jobs
from clusterdoc.workers.approvals import jobs as approval_jobs
from clusterdoc.workers.approvals.jobs import ServiceOffers
from clusterdoc.workers.cluster.base import ClusterError
from clusterdoc.workers.cluster.factory import open_cluster
from clusterdoc.workers.publish import Publisher
from clusterdoc.workers.runbook.loader import Catalogue

log = logging.getLogger(__name__)

def _sweep_timer(connection: Redis, queue: Queue, stop: threading.Event) -> None:
    while not stop.wait(SWEEP_INTERVAL_SECONDS):
        try:
            enqueue_sweep(connection, queue)
        except RedisError as exc:  # the worker itself reports Redis trouble; try again next time
            log.warning("could not enqueue the stalled-claims sweep: %s", exc)


def prepare_worker(settings: Settings, cluster: str | None, publisher: Publisher | None = None) -> str:
    """Open the cluster, load runbooks and configure :mod:`workers.jobs`; returns the cluster name.

    Raises :class:`ConfigError` (one line naming the problem) when the cluster cannot be opened;
    ``workers.runbook.loader.RunbookError`` lists broken runbook files.
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


def run_worker(settings: Settings, cluster: str | None, burst: bool) -> int:
    """Work the queue of ``cluster`` (default ``CLUSTERDOC_CLUSTER``); returns the exit status."""
    name = prepare_worker(settings, cluster)
    connection = redis_connection.connect(settings, socket_timeout=None)
    try:
        connection.ping()
    except RedisError as exc:
        raise ConfigError(f"REDIS_URL: cannot reach Redis at {redis_connection.describe(settings)}: {exc}") from exc
    queue = cluster_queue(connection, name)
    worker = worker_for([queue], connection, burst=burst)
    log.info("worker for cluster %s on queue %s (%s)", name, queue.name, "burst" if burst else "continuous")
    stop = threading.Event()
    if not burst and settings.SLACK_BOT_TOKEN:
        threading.Thread(target=_sweep_timer, args=(connection, queue, stop), name="sweep", daemon=True).start()
    try:
        worker.work(burst=burst, with_scheduler=not burst,
                    logging_level=logging.getLevelName(log.getEffectiveLevel()))
    finally:
        stop.set()
    return 0
