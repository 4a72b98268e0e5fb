"""End to end with a real Alertmanager: alerts pushed into its API reach ``clusterdoc serve`` through its
webhook (bearer token), grouped as configured; the fake Slack shows one root per group, a threaded
triage drawn from the fake API server's scenario, nothing new on Alertmanager's repeat, and the
root edited when the alerts resolve.

Processes as an operator runs them: Debian's ``prometheus-alertmanager`` (clustering off, short
group_wait/group_interval/repeat_interval), ``python -m clusterdoc serve`` and
``python -m clusterdoc worker --burst``, with a real redis-server; Slack and Kubernetes are faked
at the HTTP level (the Kubernetes side serves ``examples/crashloop``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from clusterdoc.bot.alerts.intake import RECEIVED_COUNTER
from clusterdoc.bot.alerts.payload import label_fingerprint
from tests.conftest import FakeKubeFactory
from tests.harness.alertmanager import AlertmanagerProcess, api_alert
from tests.harness.fake_kube import write_kubeconfig
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.ports import free_port
from tests.harness.processes import ServeProcess, process_env, run_burst_worker
from tests.harness.processes import wait_until as harness_wait_until

TOKEN = "e2e-alerts-token-42"
CHANNEL = "C0ONCALL"
CRASHING_POD = "api-6d8f7b9c54-x2x7k"


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    return harness_wait_until(condition, what, timeout, interval=0.2)


@pytest.fixture
def environment(redis_url: str, fake_slack: FakeSlackServer, fake_kube: FakeKubeFactory, examples_dir: Path,
                tmp_path: Path) -> dict[str, str]:
    kube = fake_kube(examples_dir / "crashloop")
    config = tmp_path / "clusterdoc.yaml"
    config.write_text("alerts:\n  incident_key: group\n  pacing: {rate: 5, burst: 5}\n")
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", kube.url)
    return process_env(SLACK_BOT_TOKEN="xoxb-e2e", SLACK_SIGNING_SECRET="e2e-secret-0123456789",
                       SLACK_API_URL=fake_slack.url, REDIS_URL=redis_url, ALERTS_TOKEN=TOKEN,
                       CLUSTERDOC_ALERT_CHANNEL=CHANNEL, CLUSTERDOC_CONFIG=str(config), KUBECONFIG=str(kubeconfig))


@pytest.fixture
def stack(environment: dict[str, str]) -> Iterator[tuple[ServeProcess, AlertmanagerProcess, dict[str, str]]]:
    server = ServeProcess(environment)
    alertmanager = AlertmanagerProcess(f"{server.url}/alerts", TOKEN, group_by=["alertname", "namespace"],
                                       group_wait="1s", group_interval="2s", repeat_interval="3s")
    yield server, alertmanager, environment
    alertmanager.stop()
    server.stop()


def roots(slack: FakeSlackServer) -> list[dict[str, Any]]:
    return [m for m in slack.posted_messages(CHANNEL) if not m.get("thread_ts")]


def thread_text(slack: FakeSlackServer, ts: str) -> str:
    parts = [str(m.get("text", "")) + json.dumps(m.get("blocks", "")) for m in slack.thread(ts)]
    return "\n".join(parts + [upload.text for upload in slack.files_in_thread(ts)])


def test_alertmanager_to_threads_triage_repeat_and_resolve(
    stack: tuple[ServeProcess, AlertmanagerProcess, dict[str, str]], fake_slack: FakeSlackServer, redis_url: str
) -> None:
    _server, alertmanager, env = stack
    redis = Redis.from_url(redis_url)
    crashing = [api_alert("KubePodCrashLooping", namespace="shop", pod=CRASHING_POD, container="api",
                          severity="warning"),
                api_alert("KubePodCrashLooping", namespace="shop", pod="api-gone-1", severity="warning")]
    mismatch = [api_alert("KubeDeploymentReplicasMismatch", namespace="shop", deployment="api", severity="warning")]
    alertmanager.push(crashing + mismatch)

    # one root per Alertmanager group: (KubePodCrashLooping, shop) and (KubeDeploymentReplicasMismatch, shop)
    wait_until(lambda: len(roots(fake_slack)) >= 2, "two incident roots")
    by_name = {("KubePodCrashLooping" if "KubePodCrashLooping" in json.dumps(r["attachments"])
                else "KubeDeploymentReplicasMismatch"): r for r in roots(fake_slack)}
    crash_root = by_name["KubePodCrashLooping"]
    # Alertmanager flushes a group at once when its alerts started more than group_wait ago, so the
    # second crash-looping pod may come in the next notification: the root is then edited to count it.
    wait_until(lambda: "2 firing / 2" in json.dumps(fake_slack.messages[(CHANNEL, crash_root["ts"])]["attachments"]),
               "the crash-looping root counting both pods")
    crash_root = fake_slack.messages[(CHANNEL, crash_root["ts"])]
    assert len(roots(fake_slack)) == 2
    assert "#/silences/new?filter=" in json.dumps(crash_root["attachments"])
    assert alertmanager.url in json.dumps(crash_root["attachments"])  # externalURL → silence link

    # our fingerprint of the labels is Alertmanager's own
    for item in alertmanager.alerts():
        assert label_fingerprint(item["labels"]) == item["fingerprint"]

    # triage: three alerts → three jobs, run by a burst worker, replies in the right threads
    wait_until(lambda: redis.llen("rq:queue:clusterdoc:default") >= 3, "three triage jobs")
    worker = run_burst_worker(env)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    crash_thread = thread_text(fake_slack, crash_root["ts"])
    assert "OOMKilled" in crash_thread and "GC pressure" in crash_thread
    assert "pod api-gone-1 not found in namespace shop" in crash_thread
    assert "rollout is stuck" in thread_text(fake_slack, by_name["KubeDeploymentReplicasMismatch"]["ts"])

    # Alertmanager repeats the unchanged groups (repeat_interval 3s): nothing new reaches Slack or the queue
    slack_calls = len([c for c in fake_slack.calls if c.method in ("chat.postMessage", "chat.update")])
    received = int(redis.get(RECEIVED_COUNTER) or 0)
    wait_until(lambda: int(redis.get(RECEIVED_COUNTER) or 0) >= received + 3, "Alertmanager's repeat notifications")
    time.sleep(1.0)  # give the dispatcher time to (not) act on them
    assert len([c for c in fake_slack.calls if c.method in ("chat.postMessage", "chat.update")]) == slack_calls
    assert redis.llen("rq:queue:clusterdoc:default") == 0
    assert len(roots(fake_slack)) == 2

    # resolve the crash-looping group: the root turns green and the thread gets one line
    alertmanager.push([api_alert("KubePodCrashLooping", resolved=True, namespace="shop", pod=CRASHING_POD,
                                 container="api", severity="warning"),
                       api_alert("KubePodCrashLooping", resolved=True, namespace="shop", pod="api-gone-1",
                                 severity="warning")])
    wait_until(lambda: fake_slack.messages[(CHANNEL, crash_root["ts"])]["attachments"][0]["color"] == "#2EB67D",
               "the root edited to resolved")
    edited = fake_slack.messages[(CHANNEL, crash_root["ts"])]
    assert "RESOLVED* after" in json.dumps(edited["attachments"])
    wait_until(lambda: any("Resolved after" in m.get("text", "") for m in fake_slack.thread(crash_root["ts"])),
               "the resolution line in the thread")
    time.sleep(3.5)  # a repeated resolved notification must not add another line
    assert sum("Resolved after" in m.get("text", "") for m in fake_slack.thread(crash_root["ts"])) == 1
    assert len(roots(fake_slack)) == 2


def test_bot_restart_between_firing_and_resolve_updates_the_same_thread(
    environment: dict[str, str], fake_slack: FakeSlackServer, redis_url: str
) -> None:
    env = environment
    port = free_port()
    server = ServeProcess(env, port=port, capture=False)
    alertmanager = AlertmanagerProcess(f"{server.url}/alerts", TOKEN, group_by=["alertname", "namespace"],
                                       group_wait="1s", group_interval="2s", repeat_interval="1h")
    try:
        labels = {"namespace": "shop", "pod": CRASHING_POD, "severity": "critical"}
        alertmanager.push([api_alert("KubePodCrashLooping", **labels)])
        root = wait_until(lambda: roots(fake_slack), "the incident root")[0]
        server.stop()  # the bot goes away while the incident is open; everything it knew is in Redis
        server = ServeProcess(env, port=port, capture=False)
        alertmanager.push([api_alert("KubePodCrashLooping", resolved=True, **labels)])
        wait_until(lambda: fake_slack.messages[(CHANNEL, root["ts"])]["attachments"][0]["color"] == "#2EB67D",
                   "the same root edited to resolved after the restart")
        wait_until(lambda: any("Resolved after" in m.get("text", "") for m in fake_slack.thread(root["ts"])),
                   "the resolution line in the same thread")
        assert len(roots(fake_slack)) == 1
        assert Redis.from_url(redis_url).llen("rq:queue:clusterdoc:default") == 1  # triaged once, not again
    finally:
        alertmanager.stop()
        server.stop()
