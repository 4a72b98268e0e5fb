"""Applies recorded deliveries to incidents: roots, edits, thread lines, triage — the alert brain.

Runs in ``clusterdoc serve`` as a background thread (:meth:`Dispatcher.run_forever`), reading
delivery ids from the inbox that :mod:`clusterdoc.bot.alerts.intake` fills (``BLMOVE`` into a processing
list, removed only after the delivery is applied; start-up puts unfinished ones back). For each
incident of a delivery, under the incident's lock:

- a new incident gets a root (or, in a storm, is folded into the storm root);
- each alert firing for the first time (per fingerprint and ``startsAt``) gets one triage;
- a change in the alert count edits the root; nothing changed (HA duplicate, repeat) → no call;
- all alerts resolved → the root is edited to the resolved state and the thread gets one line;
- a re-fire within ``reopen_minutes`` reopens the same thread, later a new one is started.

Roots (an incident's, a storm's) carry message metadata naming the incident and its opening: when
Slack's answer to a root is lost, the channel is searched for it before it is posted again.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from redis import Redis
from redis.exceptions import RedisError
from rq import Callback, Retry
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from clusterdoc import metrics
from clusterdoc.alert_config import AlertSettings
from clusterdoc.bot.alerts import threads
from clusterdoc.bot.alerts.incidents import Incident, IncidentStore, incident_id, parse_iso
from clusterdoc.bot.alerts.intake import DELIVERY_PREFIX, INBOX, PROCESSING
from clusterdoc.bot.alerts.routing import Router, target_from_labels
from clusterdoc.bot.alerts.storm import Storm, StormTracker, TriageQueue
from clusterdoc.bot.metrics import beat
from clusterdoc.queue import DIAGNOSIS_FAILED, TRIAGE_ALERT, TRIAGE_INFLIGHT_KEY, DiagnosisRequest, cluster_queue
from clusterdoc.slack.pacing import TRANSIENT_ERRORS, deliver, replay_failed
from clusterdoc.slack.tagged import PublishError, post_tagged, tag, tagged_payloads

log = logging.getLogger(__name__)

REPLAY_EVERY_SECONDS = 60.0
BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
ATTEMPTS = "clusterdoc:alerts:attempts"
FAILED = "clusterdoc:alerts:failed"
"""Deliveries that failed ``MAX_ATTEMPTS`` times, kept for an operator (the alerts themselves are recorded)."""
MAX_ATTEMPTS = 3
ROOTLESS = "clusterdoc:incidents:rootless"
"""Ids of incidents whose root could not be posted yet; retried every ``REPLAY_EVERY_SECONDS``."""
ROOT_EVENT_TYPE = "clusterdoc_alert_root"
"""Message metadata of an incident's or a storm's root: after a lost answer, the channel is searched for it."""
HISTORY_PAGES = 5
"""How much of the channel (pages of 200, newest first) is searched for a root whose answer was lost."""


Transition = Literal["opened", "reopened", "resolved", "counts", "none"]


@dataclass
class _Change:
    """What one delivery did to an incident, decided before anything is said in Slack."""

    transition: Transition
    new_firings: list[dict[str, Any]] = field(default_factory=list)
    """Alerts firing for the first time (per fingerprint and ``startsAt``): each gets one triage."""
    root_missing: bool = False
    """The root could not be posted before: post it now (then triage every firing alert)."""


def _ambiguous(exc: Exception) -> bool:
    """Slack may have done it all the same: it answered 5xx, or the answer never came."""
    if isinstance(exc, SlackApiError):  # 5xx, or ok:false internal_error/fatal_error ("may have partly succeeded")
        return exc.response is not None and (exc.response.status_code >= 500
                                             or str(exc.response.get("error", "")) in TRANSIENT_ERRORS)
    return isinstance(exc, OSError)  # not a SlackClientError of the client's own (ChannelBusy: never sent)


def _text(value: bytes | str | float) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def enqueue_triage(connection: Redis, timeout_seconds: int) -> Callable[[dict[str, Any]], str]:
    """An ``enqueue`` for :meth:`TriageQueue.pump`: puts ``triage_alert`` on the cluster queue."""

    def enqueue(item: dict[str, Any]) -> str:
        request = item["request"]
        alert = {**item["alert"], "item_id": item["item_id"]}
        job = cluster_queue(connection, request["cluster"]).enqueue(
            TRIAGE_ALERT,
            args=(request, item["thread"], alert),
            job_id=item["item_id"],
            job_timeout=timeout_seconds,
            retry=Retry(max=1, interval=[10]),
            on_failure=Callback(DIAGNOSIS_FAILED),
            result_ttl=3600,
            description=f"triage {alert.get('alertname')} {request.get('runbook')}",
            meta={"max_attempts": 2},
        )
        metrics.JOBS_ENQUEUED.labels(runbook=metrics.label(str(request.get("runbook", "")))).inc()
        return str(job.id)

    return enqueue


class Dispatcher:
    """Turns deliveries into Slack threads; one instance per bot process."""

    def __init__(
        self,
        redis: Redis,
        slack: WebClient,
        router: Router,
        settings: AlertSettings,
        enqueue: Callable[[dict[str, Any]], str] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.slack = slack
        self.router = router
        self.settings = settings
        ttl = int(settings.incident_ttl_hours * 3600)
        self.store = IncidentStore(redis, ttl)
        self.storms = StormTracker(redis, settings.storm, ttl)
        self.triage = TriageQueue(redis, settings.triage_concurrency, settings.triage_timeout_seconds)
        self.enqueue = enqueue or enqueue_triage(redis, settings.triage_timeout_seconds)
        self.clock = clock
        self._last_replay = clock()
        self.problem: str | None = None
        """Why the dispatcher loop is not working right now (None when it is): ``/readyz`` shows it."""

    # -- the loop --------------------------------------------------------------------------

    def recover(self) -> int:
        """Put deliveries a previous process did not finish back in the inbox; returns how many."""
        moved = 0
        while self.redis.lmove(PROCESSING, INBOX, "LEFT", "RIGHT") is not None:
            moved += 1
        return moved

    def run_once(self, timeout: float = 1.0) -> bool:
        """Apply at most one delivery (waiting up to ``timeout`` s), then do the periodic work."""
        raw = self.redis.blmove(INBOX, PROCESSING, timeout, "RIGHT", "LEFT") if timeout else \
            self.redis.lmove(INBOX, PROCESSING, "RIGHT", "LEFT")
        if raw is not None:
            delivery_id = _text(raw)
            try:
                self.apply_delivery(delivery_id)
            except Exception:
                self._failed(delivery_id)
                raise
            self.redis.lrem(PROCESSING, 1, delivery_id)
            self.redis.hdel(ATTEMPTS, delivery_id)
            self.redis.delete(DELIVERY_PREFIX + delivery_id)
        self.periodic()
        return raw is not None

    def _failed(self, delivery_id: str) -> None:
        """Requeue a delivery that raised; after ``MAX_ATTEMPTS`` park it in ``FAILED`` (its alerts stay recorded)."""
        attempts = int(self.redis.hincrby(ATTEMPTS, delivery_id, 1))
        self.redis.lrem(PROCESSING, 1, delivery_id)
        if attempts >= MAX_ATTEMPTS:
            log.exception("alert delivery %s failed %d times; parked in %s", delivery_id, attempts, FAILED)
            self.redis.hdel(ATTEMPTS, delivery_id)
            self.redis.lpush(FAILED, delivery_id)
            return
        log.exception("applying alert delivery %s failed (attempt %d); it stays queued", delivery_id, attempts)
        self.redis.lpush(INBOX, delivery_id)

    def drain(self) -> int:
        """Apply every queued delivery now; returns how many (used by tests and the benchmark)."""
        count = 0
        while True:
            try:
                if not self.run_once(timeout=0):
                    return count
            except Exception:  # already logged and requeued or parked by run_once
                pass
            count += 1

    def periodic(self) -> None:
        self.triage.pump(self._start_triage, self.clock())
        self._refresh_storms()
        if self.clock() - self._last_replay > REPLAY_EVERY_SECONDS:
            self._last_replay = self.clock()
            self.retry_failed()

    def retry_failed(self) -> None:
        """Post the roots that could not be posted (then start their triage), and replay failed calls."""
        for raw in self.redis.srandmember(ROOTLESS, 20) or []:
            ident = _text(raw)
            with self.store.lock(ident):
                incident = self.store.get(ident)
                if incident is None or incident.ts:
                    self.redis.srem(ROOTLESS, ident)
                    continue
                self._post_root(incident, look_first=True)
                if not incident.ts:
                    break  # Slack still refuses; try again next time
                self.redis.srem(ROOTLESS, ident)
                self.store.save(incident)
                self._triage_new(incident, incident.firing_alerts)
        replay_failed(self.redis, self.slack)

    def run_forever(self, stop: threading.Event) -> None:
        """The background thread's body: recover, then loop until ``stop`` is set.

        Nothing ends it but ``stop``: with Redis down (even at start) it retries with backoff
        (:data:`BACKOFF_SECONDS` doubling up to :data:`MAX_BACKOFF_SECONDS`) and :attr:`problem`
        says why it is not working, for ``/readyz``.
        """
        recovered = False
        delay = BACKOFF_SECONDS
        while not stop.is_set():
            beat()  # liveness for /metrics (clusterdoc_dispatcher_last_beat_timestamp_seconds)
            try:
                if not recovered:
                    self.recover()
                    recovered = True
                self.run_once(timeout=0.5)
                self.problem, delay = None, BACKOFF_SECONDS
            except RedisError as exc:
                self.problem = f"alert dispatcher cannot use Redis: {type(exc).__name__}"
                log.warning("%s; retrying in %.1f s", self.problem, delay)
                stop.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
            except Exception:
                log.exception("alert dispatcher iteration failed")
                stop.wait(1.0)

    def start(self) -> tuple[threading.Thread, threading.Event]:
        stop = threading.Event()
        thread = threading.Thread(target=self.run_forever, args=(stop,), name="alert-dispatcher", daemon=True)
        thread.start()
        return thread, stop

    # -- one delivery ----------------------------------------------------------------------

    def apply_delivery(self, delivery_id: str) -> None:
        raw = self.redis.get(DELIVERY_PREFIX + delivery_id)
        if raw is None:
            log.warning("alert delivery %s is gone (expired?)", delivery_id)
            return
        delivery = json.loads(raw)
        groups: dict[str, list[dict[str, Any]]] = {}
        if self.settings.incident_key == "group":
            groups[delivery["groupKey"]] = delivery["alerts"]
        else:
            for alert in delivery["alerts"]:
                groups.setdefault(alert["fingerprint"], []).append(alert)
        for key, alerts in groups.items():
            labels = {**alerts[0]["labels"]} if self.settings.incident_key == "fingerprint" else \
                {**delivery["commonLabels"], **delivery["groupLabels"]}
            destination = self.router.destination(labels)
            if destination is None:
                log.warning("alert %s matches no route and CLUSTERDOC_ALERT_CHANNEL is not set; recorded only",
                            labels.get("alertname", "?"))
                continue
            ident = incident_id(self.settings.incident_key, key)
            with self.store.lock(ident):
                self._apply(ident, key, destination.channel, destination.cluster, alerts, delivery)

    def _apply(self, ident: str, key: str, channel: str, cluster: str, alerts: list[dict[str, Any]],
               delivery: dict[str, Any]) -> None:
        """One delivery's alerts applied to one incident: read it, decide what changed, say it in Slack."""
        now = self.clock()
        read = self._read(ident, key, channel, cluster, alerts, delivery, now)
        if read is None:
            return
        incident, fresh = read
        change = self._decide(incident, fresh, alerts, delivery)
        self._word(incident, change, now)
        self.store.save(incident)
        if not incident.ts:
            self.redis.sadd(ROOTLESS, ident)
        self._triage_new(incident, change.new_firings)

    def _read(self, ident: str, key: str, channel: str, cluster: str, alerts: list[dict[str, Any]],
              delivery: dict[str, Any], now: float) -> tuple[Incident, bool] | None:
        """The incident this delivery belongs to and whether it is a new one (None: nothing to open)."""
        incident = self.store.get(ident)
        any_firing = any(alert["status"] == "firing" for alert in alerts)
        fresh = incident is None or (
            incident.status == "resolved" and any_firing
            and now - (parse_iso(incident.resolved_at) or datetime.now(UTC)).timestamp()
            > self.settings.reopen_minutes * 60
        )
        if not fresh:
            assert incident is not None
            return incident, False
        if not any_firing:
            log.info("resolved alerts for unknown incident %s; recorded, no thread", key[:80])
            return None
        previous = incident
        incident = Incident(ident, key, channel, cluster, opened_at=now,
                            external_url=delivery.get("externalURL", ""),
                            group_labels=delivery.get("groupLabels", {}),
                            common_labels=delivery.get("commonLabels", {}),
                            common_annotations=delivery.get("commonAnnotations", {}))
        if previous is not None:
            self.store.replace(incident)  # re-fired after the reopen window: a new thread
        elif not self.store.create(incident):  # first seen wins (SET NX), even if a lock expired
            existing = self.store.get(ident)
            assert existing is not None
            return existing, False
        return incident, True

    def _decide(self, incident: Incident, fresh: bool, alerts: list[dict[str, Any]],
                delivery: dict[str, Any]) -> _Change:
        """Merge the alerts into the incident's state and name what changed (no Slack call here)."""
        previous_status = incident.status
        previous_firing = len(incident.firing_alerts)
        previous_total = len(incident.alerts)
        previous_truncated = incident.truncated_alerts
        incident.truncated_alerts = int(delivery.get("truncatedAlerts") or 0)
        new_firings = []
        for alert in alerts:
            old = incident.alerts.get(alert["fingerprint"])
            if alert["status"] == "firing" and (old is None or old["status"] == "resolved"
                                                or old.get("startsAt") != alert.get("startsAt")):
                new_firings.append(alert)
            incident.alerts[alert["fingerprint"]] = alert
        incident.common_annotations = delivery.get("commonAnnotations") or incident.common_annotations
        firing_now = bool(incident.firing_alerts)
        starts = [alert["startsAt"] for alert in incident.alerts.values() if alert.get("startsAt")]
        incident.started_at = incident.started_at or (min(starts) if starts else None)
        if fresh:
            incident.started_at = min(starts) if starts else datetime.now(UTC).isoformat()
            return _Change("opened", new_firings)
        transition: Transition = "none"
        root_missing = not incident.ts and not incident.storm
        if root_missing:
            new_firings = incident.firing_alerts
        if previous_status == "resolved" and firing_now:
            incident.status, incident.resolved_at = "firing", None
            transition = "reopened"
        elif previous_status == "firing" and not firing_now:
            ends = [alert["endsAt"] for alert in incident.alerts.values() if alert.get("endsAt")]
            incident.status = "resolved"
            incident.resolved_at = max(ends) if ends else datetime.now(UTC).isoformat()
            transition = "resolved"
        elif (len(incident.firing_alerts) != previous_firing or len(incident.alerts) != previous_total
              or incident.truncated_alerts != previous_truncated):
            transition = "counts"
        if incident.storm:
            self.storms.change(incident.storm, self._alertname(incident),
                               len(incident.firing_alerts) - previous_firing, len(incident.alerts) - previous_total)
        return _Change(transition, new_firings, root_missing)

    def _word(self, incident: Incident, change: _Change, now: float) -> None:
        """Say the change in Slack: the wording itself lives in :mod:`bot.alerts.threads`."""
        if change.transition == "opened":
            self._open(incident, now)
            return
        if change.root_missing:
            self._post_root(incident, look_first=True)
        if change.transition == "reopened":
            self._edit_root(incident)
            self._thread_line(incident, threads.reopened_line(len(incident.firing_alerts)))
        elif change.transition == "resolved":
            self._edit_root(incident)
            self._thread_line(incident, threads.resolved_line(
                parse_iso(incident.started_at), parse_iso(incident.resolved_at), len(incident.alerts)))
        elif change.transition == "counts":
            self._edit_root(incident)

    def _triage_new(self, incident: Incident, alerts: list[dict[str, Any]]) -> None:
        """Queue triage for alerts firing for the first time (once per alert and firing)."""
        if not incident.ts or not alerts:
            return
        claimed = self.store.claim_triage(incident.id, [(a["fingerprint"], a.get("startsAt")) for a in alerts])
        self.triage.submit([self._triage_item(incident, alert) for alert, ok in zip(alerts, claimed, strict=True)
                            if ok])

    # -- Slack side ------------------------------------------------------------------------

    def _alertname(self, incident: Incident) -> str:
        names = sorted({alert["labels"]["alertname"] for alert in incident.alerts.values()})
        return incident.common_labels.get("alertname") or (names[0] if names else "?")

    def _view(self, incident: Incident) -> threads.RootView:
        alerts = list(incident.alerts.values())
        first = (incident.firing_alerts or alerts)[0]
        labels = {**incident.common_labels, **incident.group_labels} if len(alerts) > 1 else first["labels"]
        annotations = incident.common_annotations if len(alerts) > 1 else first["annotations"]
        if not annotations.get("summary") and not annotations.get("description"):
            annotations = {**first["annotations"], **annotations}
        severities = [alert["labels"].get("severity", "") for alert in (incident.firing_alerts or alerts)]
        severity = max(severities, key=threads.severity_rank) if severities else ""
        names = {alert["labels"]["alertname"] for alert in alerts}
        alertname = self._alertname(incident)
        return threads.RootView(
            alertname=alertname, severity=severity, status=incident.status, cluster=incident.cluster,
            labels=labels, annotations=annotations, firing=len(incident.firing_alerts), total=len(alerts),
            started_at=parse_iso(incident.started_at), resolved_at=parse_iso(incident.resolved_at),
            generator_url=first.get("generatorURL", ""), external_url=incident.external_url,
            other_alertnames=sorted(names - {alertname}), truncated=incident.truncated_alerts,
        )

    def _open(self, incident: Incident, now: float) -> None:
        if self.storms.note_new_incident(incident.channel, incident.id, now):
            storm = self.storms.start(incident.channel, now, self._post_storm_root)
            if storm is not None:
                incident.storm, incident.ts = storm.id, storm.ts
                self.storms.add(storm, self._alertname(incident), len(incident.firing_alerts), len(incident.alerts))
                return
            # no storm root to fold into (Slack refused it): the incident gets its own root, retried if need be
        self._post_root(incident)

    def _post_root(self, incident: Incident, *, look_first: bool = False) -> None:
        """Post the incident's root; ``look_first`` when an earlier attempt failed (it may have arrived)."""
        message = threads.root_message(self._view(incident))
        marker = tag(ROOT_EVENT_TYPE, incident=incident.id, opened_at=f"{incident.opened_at:.6f}")
        payload = {"channel": incident.channel, **message, "unfurl_links": False, "metadata": marker}
        ts = self._post_tagged_root(payload, look_first)
        if ts:
            incident.ts = ts

    def _post_storm_root(self, storm: Storm) -> str:
        message = threads.storm_message([], 0, datetime.fromtimestamp(storm.started_at, UTC))
        payload = {"channel": storm.channel, **message, "metadata": tag(ROOT_EVENT_TYPE, storm=storm.id)}
        return self._post_tagged_root(payload, look_first=False)

    def _post_tagged_root(self, payload: dict[str, Any], look_first: bool) -> str:
        """Post a root carrying message metadata; its ts, or "" when Slack refused it (logged, retried later).

        A post whose answer was lost (5xx, no answer) may have arrived: the channel's recent history is
        searched for the tag before it is posted again (:func:`post_tagged`), so one incident never gets
        two threads.
        """
        channel = str(payload["channel"])
        if look_first and (found := self._find_root(channel, payload["metadata"])):
            return found
        answer = deliver(self.redis, "chat.postMessage", channel, payload,
                         functools.partial(self._post_checked, payload), keep=False)
        return str(answer["ts"]) if answer is not None else ""

    def _post_checked(self, payload: dict[str, Any]) -> Any:
        channel = str(payload["channel"])

        def already_there() -> dict[str, str] | None:
            found = self._find_root(channel, payload["metadata"])
            return {"ts": found} if found else None

        return post_tagged(lambda: self.slack.chat_postMessage(**payload), _ambiguous, already_there,
                           f"the root in {channel}")

    def _find_root(self, channel: str, marker: dict[str, Any]) -> str:
        """The ts of the root tagged ``marker`` among the channel's recent messages ("" if none, or unreadable)."""
        try:
            for found, ts in tagged_payloads(self.slack, "conversations_history", {"channel": channel},
                                             ROOT_EVENT_TYPE, HISTORY_PAGES):
                if found == marker["event_payload"]:
                    return ts
        except PublishError as exc:
            log.warning("cannot search channel %s for a root already posted (%s); posting it again", channel, exc)
        return ""

    def _edit_root(self, incident: Incident) -> None:
        if incident.storm or not incident.ts:
            return
        message = threads.root_message(self._view(incident))
        payload = {"channel": incident.channel, "ts": incident.ts, **message}
        deliver(self.redis, "chat.update", incident.channel, payload, lambda: self.slack.chat_update(**payload))

    def _thread_line(self, incident: Incident, text: str) -> None:
        if incident.storm or not incident.ts:
            return
        payload: dict[str, Any] = {"channel": incident.channel, "thread_ts": incident.ts, "text": text}
        deliver(self.redis, "chat.postMessage", incident.channel, payload,
                lambda: self.slack.chat_postMessage(**payload))

    def _update(self, payload: dict[str, Any]) -> Any:
        return self.slack.chat_update(**payload)

    def _refresh_storms(self) -> None:
        for storm in self.storms.due_updates(self.clock()):
            if not storm.ts:
                continue
            message = threads.storm_message(storm.counts, storm.incidents,
                                            datetime.fromtimestamp(storm.started_at, UTC), storm.triaged, storm.skipped)
            payload: dict[str, Any] = {"channel": storm.channel, "ts": storm.ts, **message}
            deliver(self.redis, "chat.update", storm.channel, payload, functools.partial(self._update, payload))

    # -- triage ----------------------------------------------------------------------------

    def _start_triage(self, item: dict[str, Any]) -> str:
        """Enqueue one triage item, unless it belongs to a storm whose triage limit is reached."""
        storm_id = item["alert"].get("storm")
        if storm_id and not self.storms.take_triage(storm_id):
            self.redis.zrem(TRIAGE_INFLIGHT_KEY, item["item_id"])
            return ""
        return self.enqueue(item)

    def _triage_item(self, incident: Incident, alert: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """The triage queue entry for one alert and its priority (severity rank)."""
        labels = alert["labels"]
        alertname = labels["alertname"]
        runbook = self.router.runbook(alertname)
        target = target_from_labels(labels)
        cluster = labels.get("cluster") or incident.cluster
        where = target.ref() if target else "(no object)"
        request = DiagnosisRequest("alert", runbook, target, cluster, {}, f"alert {alertname} on {where}")
        item = {
            "request": request.to_json(),
            "thread": {"channel": incident.channel, "ts": incident.ts},
            "alert": {"alertname": alertname, "fingerprint": alert["fingerprint"], "labels": labels,
                      "incident": incident.id, "severity": labels.get("severity", ""), "storm": incident.storm},
        }
        return item, threads.severity_rank(labels.get("severity", ""))
