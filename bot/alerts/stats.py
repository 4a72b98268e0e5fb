"""Alert figures for ``/metrics``, read from Redis so every bot replica reports the same numbers.

``bot.metrics`` exposes them at scrape time; names ending in ``_total`` are counters.
"""

from __future__ import annotations

from redis import Redis

from clusterdoc.bot.alerts.dispatcher import FAILED, ROOTLESS
from clusterdoc.bot.alerts.intake import ALERT_INDEX, DEDUPLICATED_COUNTER, INBOX, PROCESSING, RECEIVED_COUNTER
from clusterdoc.slack.pacing import RETRY_LIST


def alert_metrics(redis: Redis) -> dict[str, float]:
    """Alerts received and recorded, deliveries waiting or parked, Slack calls kept for retry, rootless incidents."""
    pipe = redis.pipeline(transaction=False)
    pipe.get(RECEIVED_COUNTER)
    pipe.get(DEDUPLICATED_COUNTER)
    pipe.zcard(ALERT_INDEX)
    pipe.llen(INBOX)
    pipe.llen(PROCESSING)
    pipe.llen(FAILED)
    pipe.llen(RETRY_LIST)
    pipe.scard(ROOTLESS)
    received, deduplicated, recorded, inbox, processing, failed, kept, rootless = pipe.execute()
    return {
        "clusterdoc_alerts_received_total": float(received or 0),
        "clusterdoc_alerts_deduplicated_total": float(deduplicated or 0),
        "clusterdoc_alerts_recorded": float(recorded),
        "clusterdoc_alert_deliveries_queued": float(inbox + processing),
        "clusterdoc_alert_deliveries_failed": float(failed),
        "clusterdoc_slack_calls_kept_for_retry": float(kept),
        "clusterdoc_alert_incidents_without_root": float(rootless),
    }
