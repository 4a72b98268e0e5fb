"""Incidents end to end on the bot side: real Redis, the real paced Slack client, the fake Slack API.

Deliveries are recorded with the real intake and applied by the real dispatcher; triage jobs
land on the real RQ queue of the cluster, where these tests count them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import Redis

from clusterdoc.alert_config import AlertSettings, PacingSettings, StormSettings
from clusterdoc.bot.alerts.dispatcher import FAILED, ROOTLESS, Dispatcher
from clusterdoc.bot.alerts.incidents import INCIDENT_PREFIX
from clusterdoc.bot.alerts.intake import DELIVERY_PREFIX, INBOX, PROCESSING, record_delivery, recorded_count
from clusterdoc.bot.alerts.payload import WebhookPayload
from clusterdoc.bot.alerts.routing import Router
from clusterdoc.queue import cluster_queue
from clusterdoc.slack.pacing import PACE_PREFIX, RETRY_LIST, ChannelPacer, PacedWebClient
from tests.harness.alertmanager import alert, webhook_payload
from tests.harness.fake_slack import FakeSlackServer

CHANNEL = "C0ALERTS"
T0 = datetime(2024, 11, 12, 9, 30, tzinfo=UTC)


@dataclass
class Env:
    redis: Redis
    slack: FakeSlackServer
    settings: AlertSettings
    clock: list[float]

    def dispatcher(self) -> Dispatcher:
        """A fresh dispatcher, as a restarted bot process would build it."""
        pacer = ChannelPacer(self.redis, self.settings.pacing)
        client = PacedWebClient(pacer=pacer, token="xoxb-test", base_url=self.slack.url,
                                max_wait_seconds=self.settings.pacing.dispatcher_max_wait_seconds)
        router = Router(self.settings, CHANNEL, "default")
        return Dispatcher(self.redis, client, router, self.settings, clock=lambda: self.clock[0])

    def deliver(self, body: dict[str, Any], dispatcher: Dispatcher | None = None) -> Dispatcher:
        record_delivery(self.redis, WebhookPayload.model_validate(body), 3600, now=self.clock[0])
        dispatcher = dispatcher or self.dispatcher()
        dispatcher.drain()
        return dispatcher

    def roots(self) -> list[dict[str, Any]]:
        return [m for m in self.slack.posted_messages(CHANNEL) if not m.get("thread_ts")]

    def triage_jobs(self) -> list[dict[str, Any]]:
        """Triage enqueued on the cluster queue plus the ones waiting for a free slot."""
        jobs = [job.args[2] for job in cluster_queue(self.redis, "default").get_jobs()]
        waiting = [json.loads(raw)["alert"] for raw in self.redis.hvals("clusterdoc:triage:items")]
        return jobs + waiting


def settings(**overrides: Any) -> AlertSettings:
    base: dict[str, Any] = {"pacing": PacingSettings(rate=200, burst=50), "triage_concurrency": 100}
    base.update(overrides)
    return AlertSettings(**base)


@pytest.fixture
def env(redis_url: str, fake_slack: FakeSlackServer) -> Iterator[Env]:
    redis = Redis.from_url(redis_url)
    yield Env(redis, fake_slack, settings(), [T0.timestamp() + 60])
    redis.close()


def crashloop(pod: str, **extra: Any) -> dict[str, Any]:
    return alert("KubePodCrashLooping", namespace="shop", pod=pod, severity="warning", starts=T0, **extra)


def test_one_root_per_group_with_status_count_and_links(env: Env) -> None:
    env.deliver(webhook_payload([crashloop("api-1"), crashloop("api-2")],
                                group_labels={"alertname": "KubePodCrashLooping", "namespace": "shop"}))
    roots = env.roots()
    assert len(roots) == 1
    attachment = roots[0]["attachments"][0]
    text = json.dumps(attachment["blocks"])
    assert attachment["color"] == "#ECB22E"
    assert "FIRING" in text and "KubePodCrashLooping" in text and "2 firing / 2" in text
    assert "#/silences/new?filter=" in text and "prometheus.example/graph" in text
    assert sorted(job["labels"]["pod"] for job in env.triage_jobs()) == ["api-1", "api-2"]


def test_ha_duplicate_and_repeat_deliveries_post_nothing_and_triage_once(env: Env) -> None:
    body = webhook_payload([crashloop("api-1")])
    dispatcher = env.deliver(body)
    calls_before = len(env.slack.calls)
    env.deliver(body, dispatcher)          # the HA peer's copy
    env.deliver(body)                      # repeat_interval, picked up by another bot replica
    assert len(env.slack.calls) == calls_before
    assert len(env.roots()) == 1
    assert len(env.triage_jobs()) == 1


def test_new_alert_joining_the_group_updates_the_root_and_is_triaged(env: Env) -> None:
    env.deliver(webhook_payload([crashloop("api-1")]))
    env.deliver(webhook_payload([crashloop("api-1"), crashloop("api-2")]))
    roots = env.roots()
    assert len(roots) == 1
    assert "2 firing / 2" in json.dumps(roots[0]["attachments"])
    assert len(env.slack.calls_to("chat.update")) == 1
    assert len(env.triage_jobs()) == 2
    threads_of_jobs = [job.args[1] for job in cluster_queue(env.redis, "default").get_jobs()]
    assert threads_of_jobs == [{"channel": CHANNEL, "ts": roots[0]["ts"]}] * 2


def test_alerts_truncated_by_alertmanager_are_shown_on_the_root(env: Env) -> None:
    env.deliver(webhook_payload([crashloop("api-1"), crashloop("api-2")], truncated=3))
    root = env.roots()[0]
    assert "2 firing / 2 (+3 alerts truncated by Alertmanager)" in json.dumps(root["attachments"])
    env.deliver(webhook_payload([crashloop("api-1"), crashloop("api-2")]))  # the next notification is complete
    assert len(env.slack.calls_to("chat.update")) == 1
    text = json.dumps(env.roots()[0]["attachments"])
    assert "2 firing / 2" in text and "truncated" not in text


def test_resolution_edits_root_green_with_duration_and_posts_one_line(env: Env) -> None:
    env.deliver(webhook_payload([crashloop("api-1")]))
    env.clock[0] = T0.timestamp() + 42 * 60
    resolved = crashloop("api-1", status="resolved", ends=T0 + timedelta(minutes=42))
    env.deliver(webhook_payload([resolved]))
    env.deliver(webhook_payload([resolved]))  # the resolved notification repeated: nothing more
    root = env.roots()[0]
    assert root["attachments"][0]["color"] == "#2EB67D"
    assert "RESOLVED* after 42 min" in json.dumps(root["attachments"])
    lines = env.slack.thread(root["ts"])
    assert [line["text"] for line in lines] == [":white_check_mark: Resolved after 42 min (the alert)."]


def test_bot_restart_between_firing_and_resolve_updates_the_same_thread(env: Env) -> None:
    env.deliver(webhook_payload([crashloop("api-1")]))
    root_ts = env.roots()[0]["ts"]
    [key] = [k for k in env.redis.scan_iter(match=INCIDENT_PREFIX + "*") if not k.endswith(b":lock")]
    assert 71 * 3600 < env.redis.ttl(key) <= 72 * 3600  # incident → (channel, ts) kept with incident_ttl_hours
    # a new dispatcher (new process) with nothing in memory: everything it knows is in Redis
    env.deliver(webhook_payload([crashloop("api-1", status="resolved", ends=T0 + timedelta(minutes=5))]),
                env.dispatcher())
    assert len(env.roots()) == 1
    update = env.slack.calls_to("chat.update")[-1]
    assert update.params["ts"] == root_ts
    assert len(env.slack.thread(root_ts)) == 1


def test_refire_within_window_reopens_the_thread_and_triages_again(env: Env) -> None:
    env.deliver(webhook_payload([crashloop("api-1")]))
    env.deliver(webhook_payload([crashloop("api-1", status="resolved", ends=T0 + timedelta(minutes=5))]))
    env.clock[0] = T0.timestamp() + 10 * 60
    env.deliver(webhook_payload([alert("KubePodCrashLooping", namespace="shop", pod="api-1", severity="warning",
                                       starts=T0 + timedelta(minutes=9))]))
    roots = env.roots()
    assert len(roots) == 1
    assert "FIRING" in json.dumps(roots[0]["attachments"])
    assert "reopened" in env.slack.thread(roots[0]["ts"])[-1]["text"]
    assert len(env.triage_jobs()) == 2


def test_refire_after_window_starts_a_new_thread(env: Env) -> None:
    env.settings = settings(reopen_minutes=30)
    env.deliver(webhook_payload([crashloop("api-1")]))
    env.deliver(webhook_payload([crashloop("api-1", status="resolved", ends=T0 + timedelta(minutes=5))]))
    env.clock[0] = T0.timestamp() + 120 * 60
    env.deliver(webhook_payload([alert("KubePodCrashLooping", namespace="shop", pod="api-1", severity="warning",
                                       starts=T0 + timedelta(minutes=119))]))
    assert len(env.roots()) == 2


def test_fingerprint_mode_gives_each_alert_its_own_thread(env: Env) -> None:
    env.settings = settings(incident_key="fingerprint")
    env.deliver(webhook_payload([crashloop("api-1"), crashloop("api-2")]))
    assert len(env.roots()) == 2


def test_routes_pick_the_channel_and_cluster(env: Env) -> None:
    env.settings = settings(routes=[{"matchers": ['namespace=~"shop|pay"', 'severity!="info"'],
                                     "channel": "C0SHOP", "cluster": "prod"}])
    env.deliver(webhook_payload([crashloop("api-1")]))
    assert [m["channel"] for m in env.slack.posted_messages()] == ["C0SHOP"]
    assert [job.args[0]["cluster"] for job in cluster_queue(env.redis, "prod").get_jobs()] == ["prod"]


def test_storm_collapses_into_one_root_updated_in_place_and_triage_most_severe_first(env: Env) -> None:
    env.settings = settings(incident_key="fingerprint", triage_concurrency=3,
                            storm=StormSettings(threshold=3, window_seconds=60, update_seconds=0))
    alerts = [alert("KubePodCrashLooping", namespace="shop", pod=f"p{i}", severity="warning", starts=T0)
              for i in range(20)]
    alerts += [alert("KubeNodeNotReady", node=f"n{i}", severity="critical", starts=T0) for i in range(5)]
    env.deliver(webhook_payload(alerts, group_labels={}))
    roots = env.roots()
    assert len(roots) == 4  # three incidents before the threshold, then one storm root
    storm = roots[-1]
    text = json.dumps(storm["attachments"])
    assert "Alert storm" in text and "22 incidents" in text
    assert "KubeNodeNotReady*: 5 firing / 5" in text
    queued = [job.args[2] for job in cluster_queue(env.redis, "default").get_jobs()]
    assert len(queued) == 3 and {job["severity"] for job in queued} == {"critical"}
    assert env.redis.zcard("clusterdoc:triage:pending") == 25 - 3


def test_a_storm_root_slack_refuses_leaves_no_incident_without_a_thread(env: Env) -> None:
    env.settings = settings(incident_key="fingerprint", pacing=PacingSettings(rate=200, burst=50, max_attempts=1),
                            storm=StormSettings(threshold=1, window_seconds=60, update_seconds=0))
    env.deliver(webhook_payload([crashloop("api-1")]))
    env.slack.rate_limit("chat.postMessage", times=1, retry_after=0.1)  # the storm root is refused
    env.deliver(webhook_payload([crashloop("api-2")]))
    roots = env.roots()
    assert len(roots) == 2 and "Alert storm" not in json.dumps(roots[-1]["attachments"])  # its own root instead
    env.deliver(webhook_payload([crashloop("api-3")]))  # the next new incident starts the storm
    roots = env.roots()
    assert len(roots) == 3 and "Alert storm" in json.dumps(roots[-1]["attachments"])
    assert len(env.triage_jobs()) == 3
    assert env.redis.llen(RETRY_LIST) == 0  # no orphan storm root waiting to be replayed


def test_slack_429_storm_is_paced_retried_after_retry_after_and_nothing_lost(env: Env) -> None:
    env.settings = settings(incident_key="fingerprint", storm=StormSettings(threshold=100))
    env.slack.rate_limit("chat.postMessage", times=3, retry_after=0.2)
    env.deliver(webhook_payload([crashloop(f"api-{i}") for i in range(5)]))
    assert len(env.roots()) == 5
    assert len(env.slack.calls_to("chat.postMessage", include_rate_limited=True)) == 8
    assert env.redis.llen(RETRY_LIST) == 0


def test_a_long_retry_after_in_one_channel_does_not_hold_up_the_others(env: Env) -> None:
    env.settings = settings(routes=[{"matchers": ['namespace="shop"'], "channel": "C0SHOP"}],
                            pacing=PacingSettings(rate=200, burst=50, dispatcher_max_wait_seconds=1))
    env.slack.rate_limit("chat.postMessage", times=1, retry_after=600)  # C0SHOP's root: wait ten minutes
    dispatcher = env.deliver(webhook_payload([crashloop("api-1")]))
    env.deliver(webhook_payload([alert("KubeNodeNotReady", node="n1", severity="critical", starts=T0)]), dispatcher)
    assert [m["channel"] for m in env.roots()] == [CHANNEL]  # the other channel was served at once
    assert env.slack.posted_messages("C0SHOP") == [] and env.redis.scard(ROOTLESS) == 1
    env.redis.delete(PACE_PREFIX + "C0SHOP")  # the ten minutes are over
    env.clock[0] += 61
    dispatcher.run_once(timeout=0)
    assert len(env.slack.posted_messages("C0SHOP")) == 1 and env.redis.scard(ROOTLESS) == 0
    assert len(env.triage_jobs()) == 2


def test_a_message_that_finally_fails_is_logged_and_kept_for_retry(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env.settings = settings(pacing=PacingSettings(rate=200, burst=50, max_attempts=2))
    env.slack.rate_limit("chat.postMessage", times=2, retry_after=0.1)
    dispatcher = env.deliver(webhook_payload([crashloop("api-1")]))
    assert env.roots() == []
    kept = [json.loads(raw) for raw in env.redis.lrange(RETRY_LIST, 0, -1)]
    assert kept == []  # roots are retried by the dispatcher itself, from the incident
    assert "chat.postMessage to channel C0ALERTS failed" in caplog.text
    assert env.triage_jobs() == []
    # a minute later the dispatcher posts the root it still lacks, and the triage then runs
    env.clock[0] += 61
    dispatcher.run_once(timeout=0)
    assert len(env.roots()) == 1
    assert len(env.triage_jobs()) == 1
    env.deliver(webhook_payload([crashloop("api-1")]), dispatcher)
    assert len(env.roots()) == 1 and len(env.triage_jobs()) == 1


def test_failed_thread_line_is_replayed_from_the_retry_list(env: Env) -> None:
    dispatcher = env.deliver(webhook_payload([crashloop("api-1")]))
    env.settings.pacing = PacingSettings(rate=200, burst=50, max_attempts=1)
    env.slack.rate_limit("chat.postMessage", times=1, retry_after=0.1)
    dispatcher = env.deliver(webhook_payload([crashloop("api-1", status="resolved", ends=T0 + timedelta(minutes=3))]))
    root = env.roots()[0]
    assert env.slack.thread(root["ts"]) == [] and env.redis.llen(RETRY_LIST) == 1
    env.clock[0] += 61
    dispatcher.run_once(timeout=0)
    assert [m["text"] for m in env.slack.thread(root["ts"])] == [":white_check_mark: Resolved after 3 min (the alert)."]
    assert env.redis.llen(RETRY_LIST) == 0


def test_every_alert_is_recorded_even_without_a_channel(env: Env) -> None:
    dispatcher = Dispatcher(env.redis, PacedWebClient(pacer=ChannelPacer(env.redis, env.settings.pacing),
                                                      token="xoxb-test", base_url=env.slack.url),
                            Router(env.settings, None, "default"), env.settings)
    env.deliver(webhook_payload([crashloop("api-1"), crashloop("api-2")]), dispatcher)
    assert recorded_count(env.redis) == 2
    assert env.slack.calls == []


def test_a_delivery_taken_by_a_dispatcher_that_died_is_applied_after_restart(env: Env) -> None:
    record_delivery(env.redis, WebhookPayload.model_validate(webhook_payload([crashloop("api-1")])), 3600)
    assert env.redis.lmove(INBOX, PROCESSING, "RIGHT", "LEFT") is not None  # taken, then the process died
    restarted = env.dispatcher()
    assert restarted.recover() == 1
    restarted.drain()
    assert len(env.roots()) == 1 and len(env.triage_jobs()) == 1
    assert env.redis.llen(PROCESSING) == 0 and env.redis.llen(INBOX) == 0


def test_storm_triage_is_capped_most_severe_first_and_the_root_counts_the_rest(env: Env) -> None:
    env.settings = settings(incident_key="fingerprint", triage_concurrency=50,
                            storm=StormSettings(threshold=2, window_seconds=60, update_seconds=0, max_triage=3))
    alerts = [alert("KubePodCrashLooping", namespace="shop", pod=f"p{i}", severity="info", starts=T0)
              for i in range(10)]
    alerts += [alert("KubeNodeNotReady", node=f"n{i}", severity="critical", starts=T0) for i in range(4)]
    env.deliver(webhook_payload(alerts, group_labels={}))
    queued = [job.args[2] for job in cluster_queue(env.redis, "default").get_jobs()]
    in_storm = [job for job in queued if job["storm"]]
    assert len(queued) == 2 + 3  # the two incidents before the storm, then the storm's limit
    assert {job["severity"] for job in in_storm} == {"critical"}
    assert env.redis.zcard("clusterdoc:triage:pending") == 0
    storm_root = env.roots()[-1]
    assert "3 started, 9 skipped" in json.dumps(storm_root["attachments"])


def test_a_delivery_that_keeps_failing_is_parked_and_does_not_block_the_others(env: Env) -> None:
    env.redis.set(DELIVERY_PREFIX + "broken", "{not json")
    env.redis.lpush(INBOX, "broken")
    dispatcher = env.deliver(webhook_payload([crashloop("api-1")]))
    assert len(env.roots()) == 1
    assert env.redis.lrange(FAILED, 0, -1) == [b"broken"]
    assert env.redis.llen(INBOX) == 0 and env.redis.llen(PROCESSING) == 0
    assert dispatcher.drain() == 0


# -- a root whose answer Slack lost: one incident, one thread -------------------------------------------


def root_tags(env: Env) -> list[dict[str, Any]]:
    return [m.get("metadata", {}) for m in env.roots()]


def test_a_root_slack_stored_but_answered_500_is_found_in_the_channel_not_posted_twice(env: Env) -> None:
    env.slack.fail_after_delivery("chat.postMessage", times=1)  # stored, then the answer is lost
    env.deliver(webhook_payload([crashloop("api-1")]))
    roots = env.roots()
    assert len(roots) == 1 and len(env.slack.calls_to("chat.postMessage")) == 1
    assert root_tags(env)[0]["event_type"] == "clusterdoc_alert_root"
    assert len(env.slack.calls_to("conversations.history")) == 1
    threads_of_jobs = [job.args[1] for job in cluster_queue(env.redis, "default").get_jobs()]
    assert threads_of_jobs == [{"channel": CHANNEL, "ts": roots[0]["ts"]}]  # triage answers in that thread
    assert env.redis.scard(ROOTLESS) == 0


def test_a_500_that_stored_nothing_posts_the_root_once_after_looking(env: Env) -> None:
    env.slack.server_error("chat.postMessage", times=1)  # nothing stored
    env.deliver(webhook_payload([crashloop("api-1")]))
    assert len(env.roots()) == 1
    assert len(env.slack.calls_to("conversations.history")) == 1
    assert len(env.triage_jobs()) == 1


def test_a_root_lost_on_every_attempt_is_found_by_the_retry_a_minute_later(env: Env) -> None:
    env.settings = settings(pacing=PacingSettings(rate=200, burst=50, max_attempts=1))  # no client-side retries
    env.slack.fail_after_delivery("chat.postMessage", times=1)
    env.slack.server_error("conversations.history", times=3)  # the channel cannot be read just now
    env.slack.server_error("chat.postMessage", times=2)
    dispatcher = env.deliver(webhook_payload([crashloop("api-1")]))
    assert len(env.roots()) == 1 and env.redis.scard(ROOTLESS) == 1 and env.triage_jobs() == []
    env.clock[0] += 61
    dispatcher.run_once(timeout=0)
    assert len(env.roots()) == 1  # found in the channel, not posted a second time
    assert env.redis.scard(ROOTLESS) == 0
    dispatcher.run_once(timeout=0)  # the triage queued meanwhile is started
    assert [job.args[1]["ts"] for job in cluster_queue(env.redis, "default").get_jobs()] == [env.roots()[0]["ts"]]


def test_a_root_is_told_apart_from_the_same_incident_reopened_in_a_new_thread(env: Env) -> None:
    env.settings = settings(reopen_minutes=5)
    env.deliver(webhook_payload([crashloop("api-1")]))
    env.deliver(webhook_payload([crashloop("api-1", status="resolved", ends=T0 + timedelta(minutes=3))]))
    env.clock[0] += 3600
    env.slack.server_error("chat.postMessage", times=1)  # the new root is lost; the old one must not be taken
    env.deliver(webhook_payload([alert("KubePodCrashLooping", namespace="shop", pod="api-1", severity="warning",
                                      starts=T0 + timedelta(hours=1))]))
    roots = env.roots()
    assert len(roots) == 2  # the old thread's tag (same incident id, other opening) was not taken for the new one
    payloads = [tag["event_payload"] for tag in root_tags(env)]
    assert payloads[0]["incident"] == payloads[1]["incident"] and payloads[0]["opened_at"] != payloads[1]["opened_at"]
    jobs = [job.args[1]["ts"] for job in cluster_queue(env.redis, "default").get_jobs()]
    assert jobs[-1] == roots[1]["ts"]


def test_a_storm_root_whose_answer_was_lost_is_not_posted_twice(env: Env) -> None:
    env.settings = settings(incident_key="fingerprint", storm=StormSettings(threshold=1, window_seconds=60,
                                                                            update_seconds=0))
    env.deliver(webhook_payload([crashloop("api-1")]))
    env.slack.fail_after_delivery("chat.postMessage", times=1)  # the storm root
    env.deliver(webhook_payload([crashloop("api-2")]))
    roots = env.roots()
    assert len(roots) == 2 and "Alert storm" in json.dumps(roots[-1]["attachments"])
    assert "storm" in root_tags(env)[-1]["event_payload"]


def test_a_root_answered_ok_false_internal_error_is_looked_for_not_posted_again(env: Env) -> None:
    """Slack's 200 ``ok: false`` ``internal_error``/``fatal_error`` may have partly succeeded: for a tagged root
    it is as ambiguous as a 5xx (no blind retry underneath)."""
    env.slack.fail_after_delivery("chat.postMessage", times=1, status=200)
    env.deliver(webhook_payload([crashloop("api-1")]))
    assert len(env.roots()) == 1 and len(env.slack.calls_to("conversations.history")) == 1
    assert env.dispatcher().slack.retry_handlers == []  # slack_sdk does not re-send a dropped post by itself
