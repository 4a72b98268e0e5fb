"""The ``events`` step through the engine: grouping, ordering, the cap, and a bounded number of API calls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from clusterdoc.queue import DiagnosisRequest
from clusterdoc.report import Report, Severity, Table, Target, Text
from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.cluster.snapshot import SnapshotCluster, SnapshotStore
from clusterdoc.workers.runbook.engine import run_request, run_runbook
from clusterdoc.workers.runbook.loader import Catalogue, Runbook
from tests.harness.fake_kube import FakeKubeServer, live_cluster

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
CRASHLOOP_NOW = datetime(2024, 11, 12, 9, 47, 30, tzinfo=UTC)
NODE_NOTREADY_NOW = datetime(2024, 11, 19, 3, 14, 52, tzinfo=UTC)


class CountingCluster:
    """A test double of the Cluster protocol: forwards to a snapshot and records every call."""

    def __init__(self, inner: SnapshotCluster) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: list[tuple[str, str, str]] = []

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        self.calls.append(("get", kind, name))
        return self.inner.get(kind, name, namespace)

    def list(self, kind: str, namespace: str | None = None, **options: Any) -> Iterator[Obj]:
        self.calls.append(("list", kind, str(options.get("label_selector") or options.get("field_selector") or "")))
        return self.inner.list(kind, namespace, **options)

    def logs(self, namespace: str, pod: str, container: str, **options: Any) -> str:
        self.calls.append(("logs", pod, container))
        return self.inner.logs(namespace, pod, container, **options)

    def request_count(self) -> int:
        return len(self.calls)

    def count(self, verb: str, kind: str | None = None) -> int:
        return sum(1 for call in self.calls if call[0] == verb and (kind is None or call[1] == kind))


def ts(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(kind: str, name: str, reason: str, message: str, *, uid: str = "", type_: str = "Normal", count: int = 1,
          first: float = 10, last: float | None = None, namespace: str = "shop", series: dict[str, Any] | None = None,
          new_style: bool = False, suffix: str = "") -> Obj:
    meta_name = f"{name}.{reason}.{abs(hash((message, first, suffix))) % 10**8:08x}"
    obj: Obj = {
        "apiVersion": "v1", "kind": "Event", "type": type_, "reason": reason, "message": message,
        "metadata": {"name": meta_name, "namespace": namespace, "creationTimestamp": ts(first)},
        "involvedObject": {"kind": kind, "name": name, "namespace": namespace, "uid": uid or f"uid-{name}"},
        "source": {"component": "kubelet"},
    }
    if new_style:
        obj.update(eventTime=(NOW - timedelta(minutes=first)).strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
                   firstTimestamp=None, lastTimestamp=None, series=series)
    else:
        obj.update(count=count, firstTimestamp=ts(first), lastTimestamp=ts(last if last is not None else first))
    return obj


def deployment(pods: int, *, name: str = "web", namespace: str = "shop") -> list[Obj]:
    """A Deployment, its ReplicaSet, ``pods`` pods with a BackOff event each, and a stranger pod."""
    labels = {"app": name}
    rs_name = f"{name}-5d8f9c7b6"
    objects: list[Obj] = [
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": name, "namespace": namespace, "uid": f"uid-deploy-{name}", "creationTimestamp": ts(600)},
         "spec": {"replicas": pods, "selector": {"matchLabels": labels,
                                                 "matchExpressions": [{"key": "tier", "operator": "NotIn",
                                                                       "values": ["batch"]}]}},
         "status": {"replicas": pods, "readyReplicas": 0}},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet",
         "metadata": {"name": rs_name, "namespace": namespace, "uid": f"uid-rs-{name}", "labels": labels,
                      "creationTimestamp": ts(600),
                      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                           "uid": f"uid-deploy-{name}", "controller": True}]},
         "spec": {"replicas": pods, "selector": {"matchLabels": labels}}, "status": {"replicas": pods}},
        # same labels, different owner: must not be counted as the Deployment's pod
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": f"{name}-stranger", "namespace": namespace, "uid": "uid-stranger", "labels": labels,
                      "creationTimestamp": ts(30)}, "spec": {"containers": [{"name": "x", "image": "x"}]},
         "status": {"phase": "Running"}},
        event("Pod", f"{name}-stranger", "BackOff", "stranger event", uid="uid-stranger", type_="Warning", first=1),
        event("Deployment", name, "ScalingReplicaSet", f"Scaled up replica set {rs_name} to {pods}",
              uid=f"uid-deploy-{name}", first=600),
    ]
    for index in range(pods):
        pod_name = f"{rs_name}-p{index:03d}"
        objects.append({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod_name, "namespace": namespace, "uid": f"uid-{pod_name}", "labels": labels,
                         "creationTimestamp": ts(600),
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name,
                                              "uid": f"uid-rs-{name}", "controller": True}]},
            "spec": {"containers": [{"name": "app", "image": "app:1"}]}, "status": {"phase": "Running"},
        })
        objects.append(event("Pod", pod_name, "BackOff", f"Back-off restarting failed container app in pod {pod_name}",
                             uid=f"uid-{pod_name}", type_="Warning", count=index + 1, first=500, last=index + 2))
    return objects


def catalogue() -> Catalogue:
    return Catalogue.load()


def runbook(name: str) -> Runbook:
    found = catalogue().get(name)
    assert found is not None
    return found


def run(cluster: Any, kind: str, name: str, namespace: str | None, *, runbook_name: str = "events",
        now: datetime = NOW, **params: str) -> Report:
    request = DiagnosisRequest(runbook_name, runbook_name, Target(kind, name, namespace), params=dict(params))
    return run_runbook(runbook(runbook_name), request, cluster, now)


def events_table(report: Report) -> Table:
    finding = next(f for f in report.findings if f.step == "events")
    return next(b for b in finding.blocks if isinstance(b, Table))


def test_crashloop_deployment_events_include_its_replicasets_and_pods_but_not_its_neighbours() -> None:
    cluster = SnapshotCluster.from_path(EXAMPLES / "crashloop")
    report = run(cluster, "Deployment", "api", "shop", now=CRASHLOOP_NOW)
    finding = report.findings[0]
    table = events_table(report)
    objects = {row[3] for row in table.rows}
    assert finding.severity == Severity.WARNING
    assert "BackOff" in finding.title and "2 ReplicaSets and 3 pods" in finding.title
    assert {"deploy/api", "rs/api-6d8f7b9c54", "pod/api-6d8f7b9c54-x2x7k"} <= objects
    assert not any("cart" in obj for obj in objects), "the cart pod's events belong to another Deployment"
    backoff = next(row for row in table.rows if row[2] == "BackOff")
    assert backoff[:5] == ("12s ago", "Warning", "BackOff", "pod/api-6d8f7b9c54-x2x7k", "187 over 58m")


def test_rows_are_newest_first_with_columns_as_specified() -> None:
    cluster = SnapshotCluster.from_path(EXAMPLES / "crashloop")
    table = events_table(run(cluster, "Deployment", "api", "shop", now=CRASHLOOP_NOW))
    assert table.columns == ("LAST SEEN", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE")
    store = cluster.store
    last_seen = []
    for row in table.rows:
        matching = [e for e in store.by_kind["Event"] if e["reason"] == row[2] and e["message"] == row[5]]
        assert matching, row
        last_seen.append(max(e.get("lastTimestamp") or e.get("eventTime") for e in matching))
    assert last_seen == sorted(last_seen, reverse=True)


def test_duplicates_fold_into_one_row_with_summed_counts_and_first_last_seen() -> None:
    objects = [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "namespace": "shop", "uid": "uid-web-0"},
         "spec": {}, "status": {"phase": "Pending"}},
        event("Pod", "web-0", "FailedMount", "MountVolume.SetUp failed", type_="Warning", count=3, first=50, last=40),
        event("Pod", "web-0", "FailedMount", "MountVolume.SetUp failed", type_="Warning", count=4, first=30, last=5,
              suffix="b"),
        event("Pod", "web-0", "FailedScheduling", "0/3 nodes are available", type_="Warning", new_style=True, first=20,
              series={"count": 6, "lastObservedTime": (NOW - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S.0Z")}),
        event("Pod", "web-0", "Scheduled", "Successfully assigned shop/web-0", new_style=True, first=1),
    ]
    table = events_table(run(SnapshotCluster(SnapshotStore(objects)), "Pod", "web-0", "shop"))
    rows = {row[2]: row for row in table.rows}
    assert len(table.rows) == 3
    assert rows["FailedMount"][0] == "5m ago" and rows["FailedMount"][4] == "7 over 45m"
    assert rows["FailedScheduling"][0] == "2m ago" and rows["FailedScheduling"][4] == "6 over 18m"
    assert rows["Scheduled"][4] == "1"
    assert [row[2] for row in table.rows] == ["Scheduled", "FailedScheduling", "FailedMount"]


def test_limit_caps_rows_and_says_how_many_were_left_out() -> None:
    cluster = SnapshotCluster(SnapshotStore(deployment(12)))
    report = run(cluster, "Deployment", "web", "shop", events_limit="5")
    finding = report.findings[0]
    table = events_table(report)
    note = next(b for b in finding.blocks if isinstance(b, Text))
    assert len(table.rows) == 5
    assert note.text == "8 older event groups left out (7 warnings); showing the newest 5."
    assert [row[3] for row in table.rows][:2] == ["pod/web-5d8f9c7b6-p000", "pod/web-5d8f9c7b6-p001"]


def test_only_normal_events_stay_info_and_no_events_says_why() -> None:
    objects = deployment(0)
    quiet = SnapshotCluster(SnapshotStore([o for o in objects if o["kind"] != "Event"]))
    report = run(quiet, "Deployment", "web", "shop")
    assert report.findings[0].severity == Severity.INFO
    assert report.findings[0].title == "No events for deploy/web and its 1 ReplicaSet"
    assert "expire after one hour" in report.findings[0].detail
    normal = SnapshotCluster(SnapshotStore([o for o in objects if o.get("type") != "Warning"]))
    finding = run(normal, "Deployment", "web", "shop").findings[0]
    assert finding.severity == Severity.INFO and "no warnings" in finding.title


def test_node_events_are_read_across_namespaces() -> None:
    cluster = SnapshotCluster.from_path(EXAMPLES / "node-notready")
    report = run(cluster, "Node", "ip-10-0-1-5", None, now=NODE_NOTREADY_NOW)
    table = events_table(report)
    assert [row[2:4] for row in table.rows] == [("NodeNotReady", "node/ip-10-0-1-5")]
    assert table.rows[0][5] == "Node ip-10-0-1-5 status is now: NodeNotReady"


@pytest.mark.parametrize("pods", [5, 50], ids=["5-pods", "50-pods"])
def test_workload_events_cost_a_constant_number_of_list_calls(pods: int) -> None:
    counting = CountingCluster(SnapshotCluster(SnapshotStore(deployment(pods))))
    report = run(counting, "Deployment", "web", "shop", events_limit="100")
    assert counting.count("list") == 3, counting.calls  # ReplicaSets, pods (one selector), namespace events
    assert counting.count("list", "Pod") == 1
    assert counting.count("get") == 1  # the engine's fetch of the target
    pod_call = next(call for call in counting.calls if call[:2] == ("list", "Pod"))
    assert pod_call[2] == "app=web,tier notin (batch)"
    table = events_table(report)
    assert len(table.rows) == pods + 1  # one BackOff row per pod plus the Deployment's scaling event
    assert not any("stranger" in row[3] for row in table.rows)


def test_few_objects_use_field_selectors_per_object() -> None:
    counting = CountingCluster(SnapshotCluster(SnapshotStore(deployment(1))))
    run(counting, "Deployment", "web", "shop")
    selectors = sorted(call[2] for call in counting.calls if call[:2] == ("list", "Event"))
    assert selectors == [
        "involvedObject.kind=Deployment,involvedObject.name=web,involvedObject.namespace=shop",
        "involvedObject.kind=Pod,involvedObject.name=web-5d8f9c7b6-p000,involvedObject.namespace=shop",
        "involvedObject.kind=ReplicaSet,involvedObject.name=web-5d8f9c7b6,involvedObject.namespace=shop",
    ]


@pytest.mark.parametrize("pods", [5, 50], ids=["5-pods", "50-pods"])
def test_through_the_fake_api_server_the_request_count_does_not_grow_with_pods(pods: int) -> None:
    with FakeKubeServer(SnapshotStore(deployment(pods))) as server:
        cluster = live_cluster(server.url)
        server.reset_log()
        report = run(cluster, "Deployment", "web", "shop", events_limit="100")
        requests = server.request_count()
    assert requests == 4  # GET deployment, LIST replicasets, LIST pods, LIST events
    assert len(events_table(report).rows) == pods + 1


def test_related_false_reads_only_the_target() -> None:
    counting = CountingCluster(SnapshotCluster(SnapshotStore(deployment(3))))
    report = run(counting, "Deployment", "web", "shop", related="false")
    assert [row[3] for row in events_table(report).rows] == ["deploy/web"]
    assert counting.count("list", "Pod") == 0


def test_why_pending_reads_the_pods_events_once() -> None:
    cluster = CountingCluster(SnapshotCluster.from_path(EXAMPLES / "taint-pending"))
    request = DiagnosisRequest("why-pending", "why-pending", Target("Pod", "web-0", "shop"))
    report = run_request(Catalogue.load(), request, cluster)
    assert {finding.step for finding in report.findings} >= {"scheduling", "events"}
    assert cluster.count("list", "Event") == 1
