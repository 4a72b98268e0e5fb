"""The ``describe`` step through the engine, on the demo snapshots and on small objects built here."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from clusterdoc.humanize import human_duration
from clusterdoc.queue import DiagnosisRequest
from clusterdoc.report import Facts, Finding, Preformatted, Report, Severity, Table, Target, Text
from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.cluster.snapshot import SnapshotCluster, SnapshotStore
from clusterdoc.workers.runbook.engine import run_runbook
from clusterdoc.workers.runbook.loader import Catalogue, Runbook
from clusterdoc.workers.runbook.schema import RunbookSpec
from clusterdoc.workers.steps.common import parse_quantity, selector_string
from tests.harness.fake_kube import FakeKubeServer, live_cluster
from tests.test_step_events import CountingCluster, run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TAINT_NOW = datetime(2024, 11, 5, 14, 32, 10, tzinfo=UTC)
CRASHLOOP_NOW = datetime(2024, 11, 12, 9, 47, 30, tzinfo=UTC)
NODE_NOW = datetime(2024, 11, 19, 3, 14, 52, tzinfo=UTC)
NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)


def describe(cluster: Any, kind: str, name: str, namespace: str | None, now: datetime = NOW, **params: str) -> Report:
    return run(cluster, kind, name, namespace, runbook_name="describe", now=now, **params)


def facts(finding: Finding) -> dict[str, str]:
    block = next(b for b in finding.blocks if isinstance(b, Facts))
    return dict(block.items)


def table(finding: Finding, first_column: str) -> Table:
    return next(b for b in finding.blocks if isinstance(b, Table) and b.columns[0] == first_column)


def text_of(report: Report) -> str:
    return json.dumps(report.to_json())


def ts(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(name: str, *, containers: list[dict[str, Any]] | None = None, statuses: list[dict[str, Any]] | None = None,
        phase: str = "Running", node: str | None = "node-a", conditions: list[dict[str, Any]] | None = None,
        init: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None, owner: dict[str, Any] | None = None,
        namespace: str = "shop") -> Obj:
    spec: dict[str, Any] = {"containers": containers or [{"name": "app", "image": "app:1"}]}
    status: dict[str, Any] = {"phase": phase, "containerStatuses": statuses or [], "conditions": conditions or []}
    if node:
        spec["nodeName"] = node
    if init:
        spec["initContainers"], status["initContainerStatuses"] = init
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": f"uid-{name}", "creationTimestamp": ts(60)}
    if owner:
        meta["ownerReferences"] = [owner]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def node(name: str, ready: str = "True", **extra_status: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "uid": f"uid-{name}",
                                                              "creationTimestamp": ts(9000)},
            "spec": {}, "status": {"conditions": [{"type": "Ready", "status": ready, "reason": "KubeletReady",
                                                   "message": "kubelet is posting ready status",
                                                   "lastHeartbeatTime": ts(0.2), "lastTransitionTime": ts(9000)}],
                                   "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                                   "allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "110"}, **extra_status}}


def waiting(reason: str, message: str = "", restarts: int = 0, last: dict[str, Any] | None = None,
            name: str = "app") -> dict[str, Any]:
    status: dict[str, Any] = {"name": name, "ready": False, "restartCount": restarts,
                              "state": {"waiting": {"reason": reason, "message": message}}}
    if last:
        status["lastState"] = {"terminated": last}
    return status


# --------------------------------------------------------------------------------------------- the demo snapshots

def test_pending_pod_shows_the_scheduler_message_owner_and_tolerations() -> None:
    report = describe(SnapshotCluster.from_path(EXAMPLES / "taint-pending"), "Pod", "web-0", "shop", TAINT_NOW)
    finding = report.findings[0]
    assert finding.severity == Severity.WARNING
    assert report.verdict.layer == "scheduler"
    assert "3 node(s) had untolerated taint {dedicated: gpu}" in report.verdict.summary
    assert "untolerated taint {node-role.kubernetes.io/control-plane: }" in finding.detail
    shown = facts(finding)
    assert shown["Node"] == "none (not scheduled)"
    assert shown["Controlled by"] == "pod/web-0 → sts/web"
    assert shown["PVCs"] == "data-web-0"
    assert "node.kubernetes.io/unreachable:NoExecute op=Exists for 300s" in shown["Tolerations"]
    conditions = table(finding, "CONDITION")
    assert conditions.rows[0][:4] == ("PodScheduled", "False", "NO", "Unschedulable")


def test_crashlooping_rollout_names_oomkilled_exit_code_and_owner_chain() -> None:
    cluster = CountingCluster(SnapshotCluster.from_path(EXAMPLES / "crashloop"))
    report = describe(cluster, "Deployment", "api", "shop", CRASHLOOP_NOW)
    deployment, crashed_pod = report.findings[0], report.findings[1]
    assert report.verdict.layer == "workload"
    # describe runs the crashloop analysis on the crash-looping pod: its verdict, advice and fix
    assert report.verdict.severity == Severity.CRITICAL
    assert report.verdict.summary == ("The rollout of deploy/api is stuck: Container api of pod api-6d8f7b9c54-x2x7k "
                                      "is OOMKilled: it needs more memory than its limit 256Mi.")
    assert "is crash-looping (CrashLoopBackOff): 12 restarts, last exit OOMKilled with exit code 137 (memory " \
           "limit 256Mi)" in crashed_pod.detail
    assert "Raise the memory limit above 256Mi (or fix the leak)." in crashed_pod.detail
    assert "`/k8s run crashloop api-6d8f7b9c54-x2x7k -n shop`" in crashed_pod.detail
    assert [(r.action, r.risk) for r in report.remediations] == [("rollback_deployment", "high")]
    assert "Progressing=False (ProgressDeadlineExceeded)" in deployment.detail
    assert facts(deployment)["Strategy"] == "RollingUpdate (maxSurge 25%, maxUnavailable 25%)"
    pods = table(deployment, "POD")
    assert pods.rows[0][:4] == ("api-6d8f7b9c54-x2x7k", "0/1", "CrashLoopBackOff", "12")
    assert facts(crashed_pod)["Controlled by"] == "pod/api-6d8f7b9c54-x2x7k → rs/api-6d8f7b9c54 → deploy/api"
    containers = table(crashed_pod, "CONTAINER")
    assert containers.rows[0][5] == "OOMKilled, exit code 137, 5m26s ago"
    assert containers.rows[0][6] == "req cpu=250m memory=192Mi; lim cpu=1 memory=256Mi"
    log = next(b for b in crashed_pod.blocks if isinstance(b, Preformatted))
    assert log.title == "Last 8 log lines of api before it stopped (OOMKilled)"
    assert '"msg":"GC pressure high"' in log.text.splitlines()[-1]
    assert cluster.count("list", "Pod") == 1  # shared with events
    assert cluster.count("list", "ReplicaSet") == 2  # the workload's, and the crashloop analysis' revision history
    assert cluster.count("logs") == 1  # the analysis reuses the log tail describe already shows


def test_env_values_secret_references_and_commands_never_appear() -> None:
    report = describe(SnapshotCluster.from_path(EXAMPLES / "crashloop"), "Pod", "api-6d8f7b9c54-x2x7k", "shop",
                      CRASHLOOP_NOW)
    output = text_of(report)
    for secret in ("ff-3b9d2c71e8a4", "FEATURE_FLAGS_KEY", "DATABASE_URL", "api-db", "secretKeyRef", "LOG_LEVEL"):
        assert secret not in output


def test_a_secret_target_shows_no_data_and_no_keys() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "api-db", "namespace": "shop", "uid": "uid-s", "creationTimestamp": ts(100)},
              "data": {"url": "cG9zdGdyZXM6Ly91c2VyOnMzY3IzdEBwZy9zaG9w"},
              "stringData": {"password": "s3cr3t-pa55"}}
    output = text_of(describe(SnapshotCluster(SnapshotStore([secret])), "Secret", "api-db", "shop"))
    for leaked in ("cG9zdGdyZXM6", "s3cr3t-pa55", "password", '"url"'):
        assert leaked not in output
    assert "is never read" in output  # refused by the engine before any read


def test_notready_node_is_critical_with_conditions_taints_heartbeat_and_pods() -> None:
    cluster = CountingCluster(SnapshotCluster.from_path(EXAMPLES / "node-notready"))
    report = describe(cluster, "Node", "ip-10-0-1-5", None, NODE_NOW)
    finding = report.findings[0]
    assert finding.severity == Severity.CRITICAL
    assert report.verdict.layer == "node" and report.verdict.severity == Severity.CRITICAL
    assert "Kubelet stopped posting node status." in report.verdict.summary
    shown = facts(finding)
    assert shown["Heartbeat"] == "Lease renewed 13m ago; status posted 16m ago"
    assert shown["Kubelet"] == "v1.29.6"
    assert shown["Pods"] == "4 non-terminated (4 not ready, 2 terminating)"
    assert table(finding, "TAINT").rows == (("node.kubernetes.io/unreachable", "NoSchedule", "12m"),
                                            ("node.kubernetes.io/unreachable", "NoExecute", "12m"))
    resources = {row[0]: row[1:] for row in table(finding, "RESOURCE").rows}
    assert resources["cpu"] == ("4", "4", "550m (13%)")
    assert "hugepages-2Mi" not in resources
    ready = next(row for row in table(finding, "CONDITION").rows if row[0] == "Ready")
    assert ready[1:4] == ("Unknown", "?", "NodeStatusUnknown")
    assert cluster.count("get", "Lease") == 1 and cluster.count("list", "Pod") == 1
    pods = table(finding, "POD")
    assert pods.columns == ("POD", "READY", "STATUS", "RESTARTS", "AGE")
    assert {row[0] for row in pods.rows[:2]} == {"shop/cart-7f9c6d5b8-abq4n", "shop/redis-0"}
    assert all(row[2] == "Terminating" for row in pods.rows[:2])


def test_pod_on_a_notready_node_points_at_the_node() -> None:
    report = describe(SnapshotCluster.from_path(EXAMPLES / "node-notready"), "Pod", "redis-0", "shop", NODE_NOW)
    assert report.verdict.layer == "node"
    assert facts(report.findings[0])["Node"] == "ip-10-0-1-5 (NotReady: NodeStatusUnknown)"
    assert "StatefulSet pod is not recreated elsewhere" in report.findings[0].detail


def test_pvc_waiting_for_first_consumer_is_not_a_problem() -> None:
    report = describe(SnapshotCluster.from_path(EXAMPLES / "taint-pending"), "PersistentVolumeClaim", "data-web-0",
                      "shop", TAINT_NOW)
    finding = report.findings[0]
    assert facts(finding)["StorageClass"] == "gp3 (ebs.csi.aws.com, WaitForFirstConsumer)"
    assert finding.severity == Severity.INFO
    assert "waits for its first consumer" in finding.detail


# --------------------------------------------------------------------------------------------- small cases

def test_owner_chain_costs_one_get_per_level() -> None:
    objects = [
        node("node-a"),
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop", "uid": "d1"},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}}, "status": {}},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet",
         "metadata": {"name": "web-abc", "namespace": "shop", "uid": "r1",
                      "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": "d1", "controller": True}]},
         "spec": {}, "status": {}},
        pod("web-abc-1", owner={"kind": "ReplicaSet", "name": "web-abc", "uid": "r1", "controller": True}),
    ]
    cluster = CountingCluster(SnapshotCluster(SnapshotStore(objects)))
    report = run_runbook(_describe_only(), DiagnosisRequest("d", "d", Target("Pod", "web-abc-1", "shop")), cluster, NOW)
    assert facts(report.findings[0])["Controlled by"] == "pod/web-abc-1 → rs/web-abc → deploy/web"
    assert [c for c in cluster.calls if c[0] == "get"] == [
        ("get", "Pod", "web-abc-1"), ("get", "Node", "node-a"), ("get", "ReplicaSet", "web-abc"),
        ("get", "Deployment", "web"),
    ]


def test_owner_that_was_replaced_or_deleted_is_labelled() -> None:
    objects = [node("node-a"),
               {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "old", "namespace": "shop",
                                                                            "uid": "new-uid"}, "spec": {}},
               pod("a", owner={"kind": "ReplicaSet", "name": "old", "uid": "old-uid", "controller": True}),
               pod("b", owner={"kind": "Job", "name": "gone", "uid": "j", "controller": True})]
    cluster = SnapshotCluster(SnapshotStore(objects))
    assert facts(describe(cluster, "Pod", "a", "shop").findings[0])["Controlled by"] == (
        "pod/a → rs/old (a newer object with that name)")
    assert facts(describe(cluster, "Pod", "b", "shop").findings[0])["Controlled by"] == "pod/b → job/gone (not found)"


@pytest.mark.parametrize(
    ("status", "expected_layer", "expected_text"),
    [
        pytest.param(waiting("ImagePullBackOff", 'Back-off pulling image "reg/app:9"'), "workload",
                     'cannot pull its image (ImagePullBackOff): Back-off pulling image "reg/app:9"', id="image-pull"),
        pytest.param(waiting("CreateContainerConfigError", 'secret "db" not found'), "workload",
                     'cannot be configured (CreateContainerConfigError): secret "db" not found', id="config-error"),
        pytest.param(waiting("CrashLoopBackOff", "back-off 40s", 4, {"reason": "Error", "exitCode": 1}), "workload",
                     "is crash-looping (CrashLoopBackOff): 4 restarts, last exit Error with exit code 1",
                     id="crashloop-exit-1"),
        pytest.param(waiting("CrashLoopBackOff", "back-off 5m", 9, {"reason": "OOMKilled", "exitCode": 137}),
                     "workload", "OOMKilled with exit code 137 (no memory limit: the node ran out)",
                     id="oom-without-limit"),
    ],
)
def test_container_problems_give_a_workload_verdict(status: dict[str, Any], expected_layer: str,
                                                    expected_text: str) -> None:
    cluster = SnapshotCluster(SnapshotStore([node("node-a"), pod("p", statuses=[status], phase="Pending")]))
    report = describe(cluster, "Pod", "p", "shop")
    assert report.verdict.layer == expected_layer
    assert expected_text in report.verdict.summary
    assert report.findings[0].severity == Severity.WARNING
    pointer = "Full crash-loop analysis (previous log, probes, the rollout): `/k8s run crashloop p -n shop`"
    assert (pointer in report.findings[0].detail) == ("CrashLoopBackOff" in expected_text or "OOM" in expected_text)


def test_init_container_crash_shows_in_status_and_table() -> None:
    init = ([{"name": "migrate", "image": "migrate:1"}],
            [waiting("CrashLoopBackOff", "back-off", 3, {"reason": "Error", "exitCode": 2}, name="migrate")])
    cluster = SnapshotCluster(SnapshotStore([node("node-a"), pod("p", phase="Pending", init=init)]))
    finding = describe(cluster, "Pod", "p", "shop").findings[0]
    assert facts(finding)["Status"] == "Init:CrashLoopBackOff"
    assert table(finding, "CONTAINER").rows[0][:2] == ("init:migrate", "migrate:1")
    assert "Init container migrate of pod p is crash-looping" in finding.detail


def test_pod_never_seen_by_a_scheduler_is_flagged() -> None:
    stuck = pod("p", phase="Pending", node=None)
    stuck["spec"]["schedulerName"] = "my-scheduler"
    report = describe(SnapshotCluster(SnapshotStore([stuck])), "Pod", "p", "shop")
    assert report.verdict.layer == "scheduler"
    assert "no scheduler has reported on it (schedulerName my-scheduler)" in report.verdict.summary


def test_healthy_pod_is_info_without_verdict_hint() -> None:
    running = {"name": "app", "ready": True, "restartCount": 0, "state": {"running": {"startedAt": ts(59)}}}
    conditions = [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}]
    cluster = SnapshotCluster(SnapshotStore([node("node-a"), pod("p", statuses=[running], conditions=conditions)]))
    report = describe(cluster, "Pod", "p", "shop")
    assert report.findings[0].severity == Severity.INFO
    assert report.findings[0].title == "Pod shop/p: Running, 1/1 ready, 0 restarts"
    assert report.verdict.layer == "none"
    assert table(report.findings[0], "CONTAINER").rows[0][2] == "Running for 59m"


def test_failed_job_flags_backoff_limit() -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": "report", "namespace": "shop", "uid": "j1", "creationTimestamp": ts(30)},
           "spec": {"completions": 1, "parallelism": 1, "backoffLimit": 2,
                    "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "j1"}}},
           "status": {"failed": 3, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                                   "message": "Job has reached the specified backoff limit"}]}}
    finding = describe(SnapshotCluster(SnapshotStore([job])), "Job", "report", "shop").findings[0]
    assert facts(finding)["Completions"] == "0/1 succeeded, 0 active, 3 failed (backoffLimit 2)"
    assert "condition Failed=True (BackoffLimitExceeded): Job has reached the specified backoff limit" in finding.detail
    assert finding.severity == Severity.WARNING


def test_output_is_capped_per_object_with_a_note() -> None:
    containers = [{"name": f"c{i:02d}", "image": "img:1"} for i in range(40)]
    statuses = [{"name": f"c{i:02d}", "ready": True, "restartCount": 0, "state": {"running": {"startedAt": ts(5)}}}
                for i in range(40)]
    cluster = SnapshotCluster(SnapshotStore([node("node-a"), pod("big", containers=containers, statuses=statuses)]))
    finding = describe(cluster, "Pod", "big", "shop", max_lines="20").findings[0]
    lines = sum(len(b.items) if isinstance(b, Facts) else len(b.rows) + 1 if isinstance(b, Table) else 1
                for b in finding.blocks)
    note = finding.blocks[-1]
    assert lines <= 20
    assert isinstance(note, Text)
    assert note.text.startswith("Cut to stay within 20 lines:") and "of 40 container rows" in note.text


def test_a_crashing_backend_call_in_describe_leaves_events_intact() -> None:
    class BrokenNodeReads(CountingCluster):
        def get(self, kind: str, name: str, namespace: str | None = None) -> Obj:
            if kind == "Node":
                raise RuntimeError("unexpected bug")
            return super().get(kind, name, namespace)

    cluster = BrokenNodeReads(SnapshotCluster.from_path(EXAMPLES / "crashloop"))
    report = describe(cluster, "Pod", "api-6d8f7b9c54-x2x7k", "shop", CRASHLOOP_NOW)
    failed, events = report.findings
    assert failed.title == "Step describe failed" and failed.error_id
    assert events.step == "events" and "BackOff" in events.title


@pytest.mark.parametrize(
    ("value", "expected"),
    [("500m", Decimal("0.5")), ("2", Decimal(2)), ("2Gi", Decimal(2 * 2**30)), ("1e3", Decimal(1000)),
     ("129M", Decimal(129_000_000)), ("16069836Ki", Decimal(16069836 * 1024)), (None, Decimal(0))],
    ids=["milli", "int", "Gi", "exponent", "M", "Ki", "none"],
)
def test_parse_quantity(value: str | None, expected: Decimal) -> None:
    assert parse_quantity(value) == expected


def test_parse_quantity_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity: 'lots'"):
        parse_quantity("lots")


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(45, "45s"), (200, "3m20s"), (1020, "17m"), (5 * 3600 + 720, "5h12m"), (30 * 3600, "30h"),
     (3 * 86400 + 4 * 3600, "3d4h"), (120 * 86400, "120d"), (-5, "0s")],
    ids=["seconds", "minutes-seconds", "minutes", "hours-minutes", "hours", "days-hours", "days", "negative"],
)
def test_human_duration(seconds: int, expected: str) -> None:
    assert human_duration(timedelta(seconds=seconds)) == expected


def test_selector_string_covers_every_operator() -> None:
    selector = {"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["a", "b"]}, {"key": "x", "operator": "NotIn", "values": ["c"]},
        {"key": "canary", "operator": "Exists"}, {"key": "legacy", "operator": "DoesNotExist"}]}
    assert selector_string(selector) == "app=web,tier in (a,b),x notin (c),canary,!legacy"
    assert selector_string({}) is None


def _describe_only() -> Runbook:
    spec = RunbookSpec.model_validate({"name": "d", "title": "d", "steps": [{"kind": "describe"}]})
    return Runbook(spec, Path("<test>"))


def test_runbooks_load_with_their_parameters() -> None:
    catalogue = Catalogue.load()
    describe_book, events_book = catalogue.get("describe"), catalogue.get("events")
    assert describe_book is not None and events_book is not None
    assert [s.kind for s in describe_book.spec.steps] == ["describe", "events"]
    assert events_book.spec.params["events_limit"] == 20


@pytest.mark.parametrize(
    ("snapshot", "kind", "name", "namespace", "now", "requests"),
    [
        # GET pod, GET StatefulSet (owner), 1 LIST events (field selector)
        pytest.param("taint-pending", "Pod", "web-0", "shop", TAINT_NOW, 3, id="pending-pod"),
        # GET deploy, LIST rs, LIST pods, GET node, GET rs, GET deploy (owner chain), logs, LIST events;
        # the crashloop analysis of the crash-looping pod: LIST its events, GET rs, GET deploy, LIST rs
        pytest.param("crashloop", "Deployment", "api", "shop", CRASHLOOP_NOW, 12, id="crashloop-deployment"),
        # GET node, GET Lease, LIST pods on the node, LIST events
        pytest.param("node-notready", "Node", "ip-10-0-1-5", None, NODE_NOW, 4, id="notready-node"),
    ],
)
def test_live_client_against_the_fake_api_server_gives_the_same_report(
    snapshot: str, kind: str, name: str, namespace: str | None, now: datetime, requests: int
) -> None:
    expected = describe(SnapshotCluster.from_path(EXAMPLES / snapshot), kind, name, namespace, now).to_json()
    with FakeKubeServer(EXAMPLES / snapshot) as server:
        cluster = live_cluster(server.url)
        server.reset_log()
        report = describe(cluster, kind, name, namespace, now)
        made = server.request_count()
    assert report.to_json() == expected
    assert made == requests, [r.path for r in server.requests_to()]


def test_forbidden_pod_list_keeps_the_rest_of_the_workload_description() -> None:
    with FakeKubeServer(EXAMPLES / "crashloop") as server:
        cluster = live_cluster(server.url)
        server.fail(r"/api/v1/namespaces/shop/pods$", 403, times=None)
        report = describe(cluster, "Deployment", "api", "shop", CRASHLOOP_NOW)
    deployment = report.findings[0]
    assert deployment.step == "describe" and deployment.title.startswith("Deployment shop/api: 2 desired")
    note = next(b for b in deployment.blocks if isinstance(b, Text) and b.text.startswith("Pods:"))
    assert "could not be read (forbidden: the diagnostic role cannot list pods in namespace shop" in note.text
    assert table(deployment, "REPLICASET").rows[0][0] == "api-6d8f7b9c54"


def test_scheduled_pod_whose_containers_do_not_start_is_flagged() -> None:
    creating = waiting("ContainerCreating")
    cluster = SnapshotCluster(SnapshotStore([node("node-a"), pod("p", statuses=[creating], phase="Pending")]))
    finding = describe(cluster, "Pod", "p", "shop").findings[0]
    assert finding.severity == Severity.WARNING
    assert "on node node-a but its containers have not started (ContainerCreating)" in finding.detail
