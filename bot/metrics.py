"""The bot's ``/metrics`` (prometheus_client): its own counters plus what it reads from Redis at scrape time.

Per bot (one registry per :class:`BotMetrics`, so two bots in one test process do not add up):
slash commands by verb and outcome. Read from Redis when scraped, so every replica reports the
same figures: alerts received, deduplicated and recorded, alert deliveries queued or parked, Slack
calls kept for retry, each cluster's queue depth and listening workers, and Redis itself
(``clusterdoc_redis_up``). Process-wide: the alert dispatcher's last loop (``beat()``), and the
Slack and job counters of :mod:`clusterdoc.metrics`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker

from clusterdoc import metrics
from clusterdoc.queue import QUEUE_PREFIX

COMMANDS = "clusterdoc_slash_commands"
DISPATCHER_STALE_SECONDS = 60.0
"""The dispatcher loops at least every second; this long without a loop means it is stuck or dead."""

_dispatcher_beat: list[float] = []


def beat(now: float | None = None) -> None:
    """Called by the alert dispatcher on every loop: the liveness ``/metrics`` reports."""
    _dispatcher_beat[:] = [time.time() if now is None else now]


def dispatcher_last_beat() -> float | None:
    return _dispatcher_beat[0] if _dispatcher_beat else None


class BotMetrics:
    """The bot's own counters, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.commands = Counter(COMMANDS, "Slash commands by verb and outcome (queued, rejected, answered, ...)",
                                ["verb", "outcome"], registry=self.registry)

    def command(self, verb: str, outcome: str) -> None:
        self.commands.labels(verb=metrics.label(verb or "unknown"), outcome=outcome).inc()

    def inc(self, name: str, outcome: str = "") -> None:
        """The old ``Counters.inc(COMMANDS, outcome)``: counted under verb ``unknown``; prefer :meth:`command`."""
        self.command("unknown", outcome or "unknown")

    def render(self, redis: Redis, alert_figures: Callable[[Redis], dict[str, float]]) -> bytes:
        """The whole exposition: process metrics, these counters, and the Redis figures."""
        scraped = CollectorRegistry(auto_describe=False)
        scraped.register(RedisFigures(redis, alert_figures))
        return metrics.render(self.registry, scraped)


Counters = BotMetrics
"""The old name (release 0.1's hand-written counters), so code written against it still imports."""


class RedisFigures(Collector):
    """Figures read from Redis at scrape time (no state in the process, so every replica agrees)."""

    def __init__(self, redis: Redis, alert_figures: Callable[[Redis], dict[str, float]]) -> None:
        self.redis = redis
        self.alert_figures = alert_figures

    def collect(self) -> Iterator[Metric]:
        last = dispatcher_last_beat()
        if last is not None:
            yield GaugeMetricFamily("clusterdoc_dispatcher_last_beat_timestamp_seconds",
                                    "When the alert dispatcher of this process last looped (unix time)", value=last)
            yield GaugeMetricFamily("clusterdoc_dispatcher_up", "1 when the alert dispatcher looped within 60 s",
                                    value=float(time.time() - last < DISPATCHER_STALE_SECONDS))
        try:
            self.redis.ping()
            figures = self.alert_figures(self.redis)
            queues = self._queues()
        except RedisError:
            yield GaugeMetricFamily("clusterdoc_redis_up", "1 when Redis answers", value=0.0)
            return
        yield GaugeMetricFamily("clusterdoc_redis_up", "1 when Redis answers", value=1.0)
        for name, value in sorted(figures.items()):
            if name.endswith("_total"):
                yield CounterMetricFamily(name[: -len("_total")], _HELP.get(name, name), value=value)
            else:
                yield GaugeMetricFamily(name, _HELP.get(name, name), value=value)
        depth = GaugeMetricFamily("clusterdoc_queue_depth", "Jobs waiting in a cluster's queue", labels=["cluster"])
        workers = GaugeMetricFamily("clusterdoc_queue_workers", "Workers listening on a cluster's queue",
                                    labels=["cluster"])
        for cluster, (waiting, listening) in sorted(queues.items()):
            depth.add_metric([cluster], waiting)
            workers.add_metric([cluster], listening)
        yield depth
        yield workers

    def _queues(self) -> dict[str, tuple[float, float]]:
        found: dict[str, tuple[float, float]] = {}
        for queue in Queue.all(connection=self.redis):
            if queue.name.startswith(QUEUE_PREFIX):
                cluster = metrics.label(queue.name[len(QUEUE_PREFIX):])
                found[cluster] = (float(queue.count), float(Worker.count(queue=queue)))
        return found


_HELP = {
    "clusterdoc_alerts_received_total": "Alerts received from Alertmanager (every alert of every delivery)",
    "clusterdoc_alerts_deduplicated_total": "Alerts received again while already recorded (repeat notifications)",
    "clusterdoc_alerts_recorded": "Distinct alerts recorded in Redis",
    "clusterdoc_alert_deliveries_queued": "Alertmanager deliveries waiting for the dispatcher",
    "clusterdoc_alert_deliveries_failed": "Alertmanager deliveries parked after repeated failures",
    "clusterdoc_slack_calls_kept_for_retry": "Slack calls kept in Redis to be replayed",
    "clusterdoc_alert_incidents_without_root": "Incidents whose Slack root message could not be posted yet",
}

SERIES = frozenset({
    "clusterdoc_slash_commands_total", "clusterdoc_redis_up", "clusterdoc_queue_depth", "clusterdoc_queue_workers",
    "clusterdoc_dispatcher_up", "clusterdoc_dispatcher_last_beat_timestamp_seconds", *_HELP,
})
"""Every series the bot's /metrics adds to :func:`clusterdoc.metrics.exported_names`."""
