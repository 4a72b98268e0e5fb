"""Webhook payload parsing, derived fingerprints and status, authentication, routing and root messages."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clusterdoc.alert_config import AlertSettings, MatcherError, parse_matcher
from clusterdoc.bot.alerts.auth import authorized
from clusterdoc.bot.alerts.payload import PayloadError, label_fingerprint, parse_payload
from clusterdoc.bot.alerts.routing import Router, runbook_for, target_from_labels
from clusterdoc.bot.alerts.threads import RootView, root_message, silence_url
from clusterdoc.config import ConfigError, load_settings
from clusterdoc.report import Target
from tests.harness.alertmanager import alert, webhook_payload


def body(data: object) -> bytes:
    return json.dumps(data).encode()


# -- payload ---------------------------------------------------------------------------------------


def test_v4_payload_parses_with_alertmanagers_fingerprint() -> None:
    payload = parse_payload(body(webhook_payload([alert("KubePodCrashLooping", fingerprint="a1b2c3d4e5f60718",
                                                         namespace="shop", pod="web-0")])))
    assert payload.alerts[0].fingerprint == "a1b2c3d4e5f60718"
    assert payload.alerts[0].firing and payload.alerts[0].ends_at is None


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({}, "cbf29ce484222325"),  # FNV-1a 64 offset basis: prometheus/common's empty label set signature
        ({"alertname": "A"}, label_fingerprint({"alertname": "A"})),
    ],
    ids=["empty", "stable"],
)
def test_label_fingerprint_is_fnv1a_like_prometheus(labels: dict[str, str], expected: str) -> None:
    assert label_fingerprint(labels) == expected


def test_old_payload_without_fingerprint_and_status_gets_them_derived() -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    old = webhook_payload([alert("X", namespace="a", pod="p"), alert("X", namespace="a", pod="q", ends=past)])
    del old["groupKey"]
    for item in old["alerts"]:
        del item["status"]
    parsed = parse_payload(body(old))
    first, second = parsed.alerts
    assert first.fingerprint == label_fingerprint({"alertname": "X", "namespace": "a", "pod": "p"})
    assert first.fingerprint != second.fingerprint
    assert (first.status, second.status) == ("firing", "resolved")
    assert parsed.groupKey  # derived from receiver and group labels
    assert parse_payload(body(old)).groupKey == parsed.groupKey


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (body({"status": "firing", "alerts": [{"labels": {"alertname": "X"}}]}), "receiver: Field required"),
        (body({"receiver": "r", "status": "burning", "alerts": [{"labels": {"alertname": "X"}}]}), "status:"),
        (body({"receiver": "r", "status": "firing", "alerts": []}), "alerts: List should have at least 1 item"),
        (body({"receiver": "r", "status": "firing", "alerts": [{"labels": {"pod": "x"}}]}),
         "alerts[0].labels: Value error, an alert needs an 'alertname' label"),
        (body({"receiver": "r", "status": "firing", "alerts": [{"labels": {"alertname": "X", "n": 1}}]}),
         "alerts[0].labels.n: Input should be a valid string"),
        (body({"receiver": "r", "status": "firing", "alerts": [{"labels": {"alertname": "X"},
                                                                  "startsAt": "yesterday"}]}),
         "alerts[0].startsAt"),
    ],
    ids=["bad-json", "not-object", "no-receiver", "bad-status", "no-alerts", "no-alertname", "label-type",
         "bad-time"],
)
def test_malformed_payloads_name_the_field(raw: bytes, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_payload(raw)
    assert message in str(caught.value)


# -- auth ------------------------------------------------------------------------------------------


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("header", "user", "ok"),
    [
        ("Bearer s3cret", None, True),
        ("bearer s3cret", None, True),
        ("Bearer wrong", None, False),
        ("Bearer ", None, False),
        (None, None, False),
        ("Token s3cret", None, False),
        (basic("alertmanager", "s3cret"), None, True),
        (basic("alertmanager", "s3cret"), "alertmanager", True),
        (basic("someone", "s3cret"), "alertmanager", False),
        (basic("alertmanager", "nope"), None, False),
        ("Basic !!!notbase64", None, False),
    ],
    ids=["bearer", "bearer-lowercase", "wrong-token", "empty-token", "no-header", "other-scheme", "basic",
         "basic-user", "basic-wrong-user", "basic-wrong-password", "basic-garbage"],
)
def test_authorization(header: str | None, user: str | None, ok: bool) -> None:
    assert authorized(header, "s3cret", user) is ok


# -- routing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("matcher", "labels", "matches"),
    [
        ('severity="critical"', {"severity": "critical"}, True),
        ("severity=critical", {"severity": "warning"}, False),
        ('severity!="info"', {}, True),
        ('namespace=~"shop|pay"', {"namespace": "shop"}, True),
        ('namespace=~"shop|pay"', {"namespace": "shopping"}, False),  # anchored like Alertmanager
        ('namespace=~"sh.*"', {"namespace": "shopping"}, True),
        ('namespace!~"kube-.*"', {"namespace": "kube-system"}, False),
        ('namespace!~"kube-.*"', {}, True),
        ('team=""', {}, True),  # a missing label is the empty string
        (r'msg="say \"hi\""', {"msg": 'say "hi"'}, True),
    ],
    ids=["eq", "eq-unquoted-miss", "neq-missing", "re", "re-anchored", "re-prefix", "nre-hit", "nre-missing",
         "eq-empty", "escaped-quote"],
)
def test_matchers_behave_like_alertmanager(matcher: str, labels: dict[str, str], matches: bool) -> None:
    assert parse_matcher(matcher).matches(labels) is matches


@pytest.mark.parametrize("text", ["severity", "=x", 'a=~"("'], ids=["no-op", "no-name", "bad-regex"])
def test_bad_matchers_are_rejected_with_the_text(text: str) -> None:
    with pytest.raises(MatcherError, match="matcher"):
        parse_matcher(text)


def test_bad_matcher_in_config_names_the_route() -> None:
    with pytest.raises(ValueError, match=r"routes\.0\.matchers"):
        AlertSettings.model_validate({"routes": [{"matchers": ["sev~x"], "channel": "C1"}]})


def test_router_first_match_cluster_label_and_fallback() -> None:
    settings = AlertSettings.model_validate({"routes": [
        {"matchers": ['namespace="shop"'], "channel": "C0SHOP", "cluster": "prod"},
        {"matchers": ['severity="critical"'], "channel": "C0PAGE"},
    ]})
    router = Router(settings, "C0ALL", "default")
    assert router.destination({"namespace": "shop", "severity": "critical"}).channel == "C0SHOP"
    assert router.destination({"namespace": "shop"}).cluster == "prod"
    assert router.destination({"namespace": "shop", "cluster": "eu-1"}).cluster == "eu-1"
    assert router.destination({"severity": "critical"}).cluster == "default"
    assert router.destination({"namespace": "x"}).channel == "C0ALL"
    assert Router(settings, None, "default").destination({"namespace": "x"}) is None


@pytest.mark.parametrize(
    ("alertname", "runbook"),
    [
        ("KubePodCrashLooping", "crashloop"),
        ("KubePodNotReady", "pod-not-ready"),
        ("KubeNodeNotReady", "node"),
        ("KubeletPlegDurationHigh", "node"),
        ("KubeDeploymentReplicasMismatch", "deployment"),
        ("etcdHighFsyncDurations", "etcd"),
        ("KubeAPIErrorBudgetBurn", "apiserver"),
        ("KubeSchedulerDown", "control-plane"),
        ("KubeControllerManagerDown", "control-plane"),
        ("MyAppIsSad", "alert-object"),
    ],
)
def test_default_runbooks(alertname: str, runbook: str) -> None:
    assert runbook_for(alertname) == runbook


KNOWLEDGE_ALERTS = {
    "KubePodCrashLooping": "crashloop", "KubePodNotReady": "pod-not-ready",
    "KubeDeploymentReplicasMismatch": "deployment", "KubeDeploymentRolloutStuck": "deployment",
    "KubeStatefulSetReplicasMismatch": "describe", "KubeJobFailed": "describe",
    "KubeNodeNotReady": "node", "KubeNodeUnreachable": "node", "KubeletPlegDurationHigh": "node", "KubeletDown": "node",
    "KubeAPIErrorBudgetBurn": "apiserver", "KubeAPIDown": "apiserver", "KubeAPITerminatedRequests": "apiserver",
    "KubeSchedulerDown": "control-plane", "KubeControllerManagerDown": "control-plane",
    "KubeClientCertificateExpiration": "apiserver", "KubeVersionMismatch": "apiserver",
    "KubeCPUOvercommit": "capacity", "KubeMemoryOvercommit": "capacity",
    "KubePersistentVolumeFillingUp": "describe", "NodeFilesystemSpaceFillingUp": "node",
    "etcdMembersDown": "etcd", "etcdNoLeader": "etcd", "etcdHighNumberOfLeaderChanges": "etcd",
    "etcdHighFsyncDurations": "etcd", "etcdHighCommitDurations": "etcd", "etcdDatabaseQuotaLowSpace": "etcd",
    "etcdExcessiveDatabaseGrowth": "etcd",
}
"""Every alert KNOWLEDGE.md says clusterdoc recognises out of the box, and the runbook it routes to."""


def test_runbooks_cover_every_kube_prometheus_alert_in_knowledge() -> None:
    assert len(KNOWLEDGE_ALERTS) == 28
    assert {name: runbook_for(name) for name in KNOWLEDGE_ALERTS} == KNOWLEDGE_ALERTS
    assert runbook_for("KubePodCrashLooping", {"KubePodCrashLooping": "mine"}) == "mine"


@pytest.mark.parametrize(
    ("labels", "target"),
    [
        ({"namespace": "shop", "pod": "web-0", "node": "n1"}, Target("Pod", "web-0", "shop")),
        ({"namespace": "shop", "deployment": "api"}, Target("Deployment", "api", "shop")),
        ({"namespace": "shop", "statefulset": "db"}, Target("StatefulSet", "db", "shop")),
        ({"namespace": "shop", "daemonset": "agent"}, Target("DaemonSet", "agent", "shop")),
        ({"namespace": "shop", "job_name": "backup"}, Target("Job", "backup", "shop")),
        ({"node": "ip-10-0-1-5"}, Target("Node", "ip-10-0-1-5")),
        ({"instance": "ip-10-0-1-5:10250"}, Target("Node", "ip-10-0-1-5")),
        ({"instance": "10.0.1.5:9100"}, None),
        ({"namespace": "shop"}, None),
    ],
    ids=["pod", "deployment", "statefulset", "daemonset", "job", "node", "instance", "ip-instance", "nothing"],
)
def test_target_from_labels(labels: dict[str, str], target: Target | None) -> None:
    assert target_from_labels(labels) == target


# -- root messages ---------------------------------------------------------------------------------


def view(**changes: object) -> RootView:
    base = RootView(alertname="KubePodCrashLooping", severity="critical", status="firing", cluster="prod",
                    labels={"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "web-0",
                            "severity": "critical"},
                    annotations={"summary": "web-0 restarts", "description": "It restarted 5 times",
                                 "runbook_url": "https://runbooks.example/crash"},
                    firing=1, total=1, started_at=datetime(2024, 11, 12, 9, 0, tzinfo=UTC),
                    generator_url="http://prom/graph", external_url="http://am:9093")
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_firing_root_has_colour_fields_and_links() -> None:
    message = root_message(view())
    attachment = message["attachments"][0]
    text = json.dumps(attachment)
    assert attachment["color"] == "#E01E5A"
    for part in ("FIRING", "KubePodCrashLooping", "web-0 restarts", "It restarted 5 times", "*Cluster:* prod",
                 "1 firing / 1", "`web-0`", "http://prom/graph|Source", "https://runbooks.example/crash|Runbook",
                 "Silence"):
        assert part in text


def test_resolved_root_is_green_with_duration() -> None:
    message = root_message(view(status="resolved", resolved_at=datetime(2024, 11, 12, 9, 42, tzinfo=UTC)))
    assert message["attachments"][0]["color"] == "#2EB67D"
    assert "RESOLVED* after 42 min" in json.dumps(message)


def test_silence_link_is_prefilled_from_identifying_labels() -> None:
    url = silence_url("http://am:9093/", {"alertname": "X", "namespace": "shop", "pod": "web-0", "other": "y"})
    assert url == ("http://am:9093/#/silences/new?filter=%7Balertname%3D%22X%22%2C%20namespace%3D%22shop%22%2C%20"
                   "pod%3D%22web-0%22%7D")
    assert silence_url("", {"alertname": "X"}) == ""


def test_long_annotations_are_capped_to_block_kit_limits() -> None:
    message = root_message(view(annotations={"description": "x" * 10_000}))
    for block in message["attachments"][0]["blocks"]:
        if "text" in block:
            assert len(block["text"]["text"]) <= 3000


def test_bad_alerts_config_stops_start_up_with_one_line_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "clusterdoc.yaml"
    config.write_text("alerts:\n  routes:\n    - matchers: ['namespace=~\"(\"']\n      channel: C1\n")
    with pytest.raises(ConfigError) as caught:
        load_settings({"CLUSTERDOC_CONFIG": str(config)}).file_config()
    message = str(caught.value)
    assert message.startswith("CLUSTERDOC_CONFIG: ") and "alerts.routes[0].matchers" in message
    assert "bad regular expression" in message and "\n" not in message
