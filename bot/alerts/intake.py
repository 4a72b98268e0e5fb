"""Records every accepted alert in Redis before the webhook answers, and queues the delivery.

One MULTI/EXEC transaction per webhook post writes, for each alert, the hash
``clusterdoc:alert:<fingerprint>`` (labels, annotations, status, times, receiver, group key)
and its entry in the index ``clusterdoc:alerts:index`` (sorted by last-seen time), stores the
delivery itself and pushes its id on the inbox list the dispatcher consumes. Only after
EXEC succeeds does the endpoint answer 200: a crash after that loses nothing, since the
delivery waits in the inbox (or the processing list, which is put back at start-up).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from redis import Redis

from clusterdoc.bot.alerts.payload import WebhookPayload

ALERT_PREFIX = "clusterdoc:alert:"
ALERT_INDEX = "clusterdoc:alerts:index"
RECEIVED_COUNTER = "clusterdoc:alerts:received"
DEDUPLICATED_COUNTER = "clusterdoc:alerts:deduplicated"
"""Alerts received again while already recorded (a repeat notification): zadd added nothing."""
DELIVERY_PREFIX = "clusterdoc:alerts:delivery:"
INBOX = "clusterdoc:alerts:inbox"
PROCESSING = "clusterdoc:alerts:processing"


def delivery_record(payload: WebhookPayload, received_at: float) -> dict[str, Any]:
    """The delivery as the dispatcher reads it back."""
    return {
        "receiver": payload.receiver,
        "status": payload.status,
        "groupKey": payload.groupKey,
        "groupLabels": payload.groupLabels,
        "commonLabels": payload.commonLabels,
        "commonAnnotations": payload.commonAnnotations,
        "externalURL": payload.externalURL,
        "truncatedAlerts": payload.truncatedAlerts,
        "alerts": [alert.to_record() for alert in payload.alerts],
        "received_at": received_at,
    }


def record_delivery(redis: Redis, payload: WebhookPayload, ttl_seconds: int, now: float | None = None) -> str:
    """Store every alert and the delivery, queue it for the dispatcher; returns the delivery id."""
    received_at = time.time() if now is None else now
    delivery_id = uuid.uuid4().hex
    pipe = redis.pipeline(transaction=True)
    for alert in payload.alerts:
        record = alert.to_record()
        key = ALERT_PREFIX + alert.fingerprint
        pipe.hset(key, mapping={
            "fingerprint": alert.fingerprint,
            "status": str(alert.status),
            "labels": json.dumps(record["labels"], sort_keys=True),
            "annotations": json.dumps(record["annotations"], sort_keys=True),
            "startsAt": record["startsAt"] or "",
            "endsAt": record["endsAt"] or "",
            "generatorURL": alert.generatorURL,
            "receiver": payload.receiver,
            "groupKey": payload.groupKey,
            "last_seen": received_at,
        })
        pipe.expire(key, ttl_seconds)
        pipe.zadd(ALERT_INDEX, {alert.fingerprint: received_at})
    pipe.incrby(RECEIVED_COUNTER, len(payload.alerts))
    pipe.set(DELIVERY_PREFIX + delivery_id, json.dumps(delivery_record(payload, received_at)), ex=ttl_seconds)
    pipe.lpush(INBOX, delivery_id)
    answers = pipe.execute()
    repeats = sum(1 for index in range(len(payload.alerts)) if answers[3 * index + 2] == 0)
    if repeats:
        redis.incrby(DEDUPLICATED_COUNTER, repeats)
    return delivery_id


def recorded_alert(redis: Redis, fingerprint: str) -> dict[str, Any] | None:
    """What Redis holds about one alert (labels and annotations decoded), or None."""
    raw = redis.hgetall(ALERT_PREFIX + fingerprint)
    if not raw:
        return None
    data = {_text(key): _text(value) for key, value in raw.items()}
    return {**data, "labels": json.loads(data["labels"]), "annotations": json.loads(data["annotations"])}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def recorded_count(redis: Redis) -> int:
    """How many distinct alerts are recorded."""
    return int(redis.zcard(ALERT_INDEX))
