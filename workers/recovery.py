"""Recovering from dead workers and lost Redis connections: the worker process's self-healing parts.

RQ notices a job whose worker died (``kill -9``, OOM kill, node lost) only when the job's
entry in the started registry expires (its heartbeat TTL plus 60 s) *and* a maintenance run
happens (every 10 minutes by default); the dead worker's scheduler lock likewise blocks the
replacement's scheduler, so a retry due in 5 s ran minutes later. Here:

* :class:`Timings` derives every RQ interval from one heartbeat (``CLUSTERDOC_WORKER_HEARTBEAT_SECONDS``,
  default 10 s): a dead worker's job is declared abandoned after 3 heartbeats without one;
* :func:`reap_orphans` finds started jobs whose heartbeat is older than that and hands them to
  RQ's own abandoned-job handling (failure callback, then retry or the failed registry), so the
  thread is told with the error id when no retry is left;
* :func:`release_stale_scheduler_lock` frees a scheduler lock whose holder stopped beating, so
  this worker's scheduler takes over at its next maintenance run;
* :func:`reaper` runs both every heartbeat, and after a Redis outage gives living workers
  ``dead_after`` to send a heartbeat before it judges them (their heartbeats were lost too);
* :class:`MonitorSurvivesRedisLoss` keeps a forking worker waiting for its running work horse when a
  heartbeat meets a lost Redis (a Sentinel failover, a restart) instead of leaving its loop: RQ would
  end the loop and orphan the horse, whose job, silent for 3 heartbeats, was then reaped as abandoned
  (failure callback, retry) while the horse still ran it and went on to post its report;
* :func:`redis_answers` and :func:`wait_for_redis` back the reconnect loop of :mod:`workers.process`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from rq.scripts import release_lock
from rq.timeouts import TimerDeathPenalty
from rq.utils import parse_composite_key, utcparse

log = logging.getLogger(__name__)

DEFAULT_HEARTBEAT_SECONDS = 10
MAX_RECONNECT_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Timings:
    """Every RQ interval of a continuous worker, from one heartbeat."""

    heartbeat: int = DEFAULT_HEARTBEAT_SECONDS

    @property
    def dead_after(self) -> int:
        """A started job (or scheduler) silent this long belongs to a dead worker."""
        return 3 * self.heartbeat

    @property
    def worker_ttl(self) -> int:
        """RQ's worker TTL; its blocking dequeue waits ``worker_ttl - 15`` s, then maintenance may run."""
        return self.dead_after + 15

    @property
    def maintenance_interval(self) -> int:
        return self.dead_after

    def worker_options(self) -> dict[str, int]:
        return {"job_monitoring_interval": self.heartbeat, "worker_ttl": self.worker_ttl,
                "maintenance_interval": self.maintenance_interval}


def _age(stamp: datetime | None, now: datetime) -> float:
    if stamp is None:
        return float("inf")
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return (now - stamp).total_seconds()


def reap_orphans(queue: Queue, dead_after: float) -> list[str]:
    """Hand started jobs whose heartbeat is older than ``dead_after`` s to RQ's abandoned-job handling.

    Returns the ids handed over. Each gets its failure callback (our ``diagnosis_failed`` tells
    the thread with the error id when no retry is left) and is retried or failed by RQ.
    """
    # this runs in a thread: callbacks get a timer-based time limit, not SIGALRM
    registry = StartedJobRegistry(queue=queue, death_penalty_class=TimerDeathPenalty)
    connection = queue.connection
    now = datetime.now(UTC)
    orphans: list[str] = []
    for raw in connection.zrange(registry.key, 0, -1):
        entry = raw.decode() if isinstance(raw, bytes) else str(raw)
        job_id, _execution = parse_composite_key(entry)
        job = queue.fetch_job(job_id)
        if job is None or job.get_status(refresh=False) != JobStatus.STARTED:
            continue
        if _age(job.last_heartbeat or job.started_at, now) <= dead_after:
            continue
        connection.zadd(registry.key, {entry: 0})  # expired now: RQ's cleanup below takes it
        orphans.append(job_id)
    if orphans:
        log.warning("jobs of a dead worker found on %s: %s; retrying or failing them", queue.name, ", ".join(orphans))
        registry.cleanup(timestamp=1)
    return orphans


def release_stale_scheduler_lock(queue: Queue, dead_after: float) -> bool:
    """Free ``queue``'s scheduler lock when its holder stopped beating; True when released."""
    connection = queue.connection
    lock_key = RQScheduler.get_locking_key(queue.name)
    holder_raw = connection.get(lock_key)
    if holder_raw is None:
        return False
    holder = holder_raw.decode() if isinstance(holder_raw, bytes) else str(holder_raw)
    beat = connection.hget(SCHEDULER_KEY_TEMPLATE % holder, "last_heartbeat")
    last = utcparse(beat.decode()) if beat else None
    if _age(last, datetime.now(UTC)) <= dead_after:
        return False
    released = bool(release_lock(connection, lock_key, holder))
    if released:
        log.warning("released the scheduler lock of %s held by silent scheduler %s", queue.name, holder)
    return released


def reaper(queue: Queue, timings: Timings, stop: threading.Event) -> None:
    """Thread body: every heartbeat, reap orphans and free a stale scheduler lock (Redis errors wait).

    After Redis did not answer (a failover, a restart) it waits :attr:`Timings.dead_after` from
    Redis's return before judging anyone: every living worker's heartbeats were lost too, and in
    that time they have sent fresh ones; what is still silent then belongs to a dead worker.
    """
    lost = False
    judge_after = 0.0
    while not stop.wait(timings.heartbeat):
        try:
            queue.connection.ping()
            if lost:
                lost, judge_after = False, time.monotonic() + timings.dead_after
                log.warning("Redis answers again; looking for jobs of dead workers in %s s", timings.dead_after)
            if time.monotonic() < judge_after:
                continue
            reap_orphans(queue, timings.dead_after)
            release_stale_scheduler_lock(queue, timings.dead_after)
        except RedisError as exc:
            lost = True
            log.warning("could not look for jobs of dead workers: %s", type(exc).__name__)
        except Exception:
            log.exception("looking for jobs of dead workers failed")


class MonitorSurvivesRedisLoss(Worker):
    """RQ's forking worker whose horse-monitoring heartbeat outlives a Redis error (mixed in first).

    The failed heartbeat is logged in one line and sent again at the next monitoring interval, over
    a new connection (to the new master after a Sentinel failover). The job keeps running in its
    horse; after Redis's return the reapers (:func:`reaper`) wait long enough for this heartbeat.
    """

    def maintain_heartbeats(self, job: Job, execution: Execution) -> None:
        try:
            super().maintain_heartbeats(job, execution)
        except RedisError as exc:
            log.warning("worker %s could not send the heartbeat of job %s (%s); job goes on, next try in %s s",
                        self.name, job.id, type(exc).__name__, self.job_monitoring_interval)


def redis_answers(connection: Redis) -> bool:
    try:
        return bool(connection.ping())
    except RedisError:
        return False


def wait_for_redis(connection: Redis, describe: str, stop: threading.Event | None = None) -> None:
    """Block until Redis answers PING, backing off from 0.5 s to :data:`MAX_RECONNECT_WAIT_SECONDS`."""
    delay = 0.5
    while not redis_answers(connection):
        log.warning("Redis at %s does not answer; trying again in %.1f s", describe, delay)
        if stop is not None and stop.wait(delay):
            return
        if stop is None:
            time.sleep(delay)
        delay = min(delay * 2, MAX_RECONNECT_WAIT_SECONDS)
    log.warning("Redis at %s answers again", describe)
