"""Alert triage from webhook delivery to the thread: dispatcher, real RQ queue, burst worker, fake API server.

The worker reads the example clusters through the real ``kubernetes`` client (fake API server)
and posts with the shipping Slack publisher into the incident's thread on the fake Slack API.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from clusterdoc.alert_config import AlertSettings, PacingSettings
from clusterdoc.bot.alerts.dispatcher import Dispatcher
from clusterdoc.bot.alerts.intake import record_delivery
from clusterdoc.bot.alerts.payload import WebhookPayload
from clusterdoc.bot.alerts.routing import Router
from clusterdoc.config import load_settings
from clusterdoc.slack.pacing import ChannelPacer, PacedWebClient
from clusterdoc.workers.process import run_worker
from tests.conftest import FakeKubeFactory
from tests.harness.alertmanager import alert, webhook_payload
from tests.harness.fake_kube import FakeKubeServer
from tests.harness.fake_slack import FakeSlackServer
from tests.test_queue_worker import write_kubeconfig

CHANNEL = "C0ALERTS"


@dataclass
class Triage:
    redis_url: str
    slack: FakeSlackServer
    kube: FakeKubeServer
    kubeconfig: Path

    def run(self, *alerts: dict[str, Any]) -> str:
        """Deliver ``alerts`` as one group, apply it, work the queue; returns everything in the thread."""
        redis = Redis.from_url(self.redis_url)
        settings = AlertSettings(pacing=PacingSettings(rate=100, burst=20), triage_concurrency=50)
        client = PacedWebClient(pacer=ChannelPacer(redis, settings.pacing), token="xoxb-test", base_url=self.slack.url)
        dispatcher = Dispatcher(redis, client, Router(settings, CHANNEL, "default"), settings)
        record_delivery(redis, WebhookPayload.model_validate(webhook_payload(list(alerts))), 3600)
        dispatcher.drain()
        worker_env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": self.slack.url, "REDIS_URL": self.redis_url,
                      "KUBECONFIG": str(self.kubeconfig)}
        assert run_worker(load_settings(worker_env), None, burst=True) == 0
        roots = [m for m in self.slack.posted_messages(CHANNEL) if not m.get("thread_ts")]
        assert len(roots) == 1
        replies = self.slack.thread(roots[0]["ts"])
        assert replies, "no triage in the incident thread"
        parts = [str(m.get("text", "")) + str(m.get("blocks", "")) for m in replies]
        parts += [upload.text for upload in self.slack.files_in_thread(roots[0]["ts"])]
        redis.close()
        return "\n".join(parts)


def triage_for(snapshot: str):  # type: ignore[no-untyped-def]
    @pytest.fixture
    def fixture(redis_url: str, fake_slack: FakeSlackServer, fake_kube: FakeKubeFactory, examples_dir: Path,
                tmp_path: Path) -> Triage:
        server = fake_kube(examples_dir / snapshot)
        return Triage(redis_url, fake_slack, server, write_kubeconfig(tmp_path / "kubeconfig", server.url))

    return fixture


crashloop_env = triage_for("crashloop")
node_env = triage_for("node-notready")
pending_env = triage_for("taint-pending")


def test_crashlooping_pod_gets_oom_previous_log_and_the_image_change(crashloop_env: Triage) -> None:
    text = crashloop_env.run(alert("KubePodCrashLooping", namespace="shop", pod="api-6d8f7b9c54-x2x7k",
                                   container="api", severity="warning"))
    assert "OOMKilled" in text and "256Mi" in text
    assert "GC pressure" in text  # a line of the previous container's log
    assert "2.13.2 → registry.example.com/shop/api:2.14.0" in text


def test_deployment_replicas_mismatch_diagnoses_rollout_and_its_unavailable_pod(crashloop_env: Triage) -> None:
    text = crashloop_env.run(alert("KubeDeploymentReplicasMismatch", namespace="shop", deployment="api"))
    assert "rollout is stuck" in text and "ProgressDeadlineExceeded" in text
    assert "api-6d8f7b9c54" in text and "OOMKilled" in text


def test_node_not_ready_reads_conditions_lease_taints_and_pods_with_one_list(node_env: Triage) -> None:
    text = node_env.run(alert("KubeNodeNotReady", node="ip-10-0-1-5", severity="warning"))
    assert "is NotReady" in text and "Heartbeat Lease" in text and "node.kubernetes.io/unreachable" in text
    assert "NodeNotReady" in text  # the node's events
    pod_lists = node_env.kube.requests_to(r"^/api/v1/pods$")
    assert len(pod_lists) == 1 and "spec.nodeName=ip-10-0-1-5" in str(pod_lists[0])


def test_pod_not_ready_on_a_pending_pod_runs_why_pending(pending_env: Triage) -> None:
    text = pending_env.run(alert("KubePodNotReady", namespace="shop", pod="web-0"))
    assert "untolerated" in text and "dedicated" in text


def test_alert_naming_an_object_that_no_longer_exists_says_so(crashloop_env: Triage) -> None:
    text = crashloop_env.run(alert("KubePodCrashLooping", namespace="shop", pod="api-gone-7"))
    assert "pod api-gone-7 not found in namespace shop" in text


def test_unknown_alert_gets_describe_and_events_of_the_labelled_object(crashloop_env: Triage) -> None:
    text = crashloop_env.run(alert("ShopApiSlow", namespace="shop", deployment="api"))
    assert "alert-object" in text  # the runbook the report names
    assert "ProgressDeadlineExceeded" in text  # describe: the deployment's conditions
    assert "BackOff" in text  # events of the deployment's pods


def test_unknown_alert_without_an_object_explains_what_labels_are_missing(crashloop_env: Triage) -> None:
    text = crashloop_env.run(alert("SomethingGlobal", team="payments"))
    assert "labels name no Kubernetes object" in text


def test_etcd_alert_runs_the_etcd_runbook_and_says_what_it_could_not_see(crashloop_env: Triage) -> None:
    text = crashloop_env.run(alert("etcdHighFsyncDurations", job="etcd", instance="10.0.0.1:2379"))
    assert "etcd is not configured (ETCD_ENDPOINTS is not set)" in text
    assert "PROMETHEUS_URL is not set" in text


def test_overcommit_alert_gets_requests_against_allocatable(crashloop_env: Triage) -> None:
    text = crashloop_env.run(alert("KubeCPUOvercommit", namespace="kube-system"))
    assert "CPU REQUESTED / ALLOCATABLE" in text
