"""The why-pending step end to end over snapshot clusters: cases, layers, groups, reconciliation, fixes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from clusterdoc.queue import DiagnosisRequest
from clusterdoc.report import Target
from clusterdoc.workers.cluster.snapshot import SnapshotCluster, SnapshotStore
from clusterdoc.workers.runbook.engine import run_request
from clusterdoc.workers.runbook.loader import Catalogue
from clusterdoc.workers.scheduling import analysis, snapshot
from clusterdoc.workers.scheduling.inputs import PodInfo
from tests.harness.fake_kube import live_cluster
from tests.test_why_pending_golden import scheduling_facts

NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
GPU = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}


def node(name: str, cpu: str = "4", taints: list | None = None, unschedulable: bool = False,
         ready: str = "True") -> dict[str, Any]:
    allocatable = {"cpu": cpu, "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "spec": {"taints": taints or [], "unschedulable": unschedulable},
            "status": {"allocatable": allocatable, "capacity": allocatable,
                       "conditions": [{"type": "Ready", "status": ready}]}}


def pod(name: str, node_name: str | None = None, cpu: str = "1", phase: str | None = None,
        message: str | None = None, **spec: Any) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase or ("Running" if node_name else "Pending")}
    if message:
        status["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                 "message": message}]
    body: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx:1.27",
                                            "resources": {"requests": {"cpu": cpu}}}], **spec}
    if node_name:
        body["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "shop", "labels": {"app": "web"},
                         "creationTimestamp": "2026-11-27T05:00:00Z"},
            "spec": body, "status": status}


def event(pod_name: str, message: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": f"{pod_name}.1", "namespace": "shop"},
            "involvedObject": {"kind": "Pod", "name": pod_name, "namespace": "shop"}, "reason": "FailedScheduling",
            "type": "Warning", "message": message, "lastTimestamp": "2026-11-27T05:59:00Z"}


def crashlooping() -> dict[str, Any]:
    running = pod("web-0", "a", phase="Running")
    running["status"]["containerStatuses"] = [{"name": "app", "ready": False, "restartCount": 7,
                                               "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]
    return running


def why_pending(objects: list[dict[str, Any]], target: str = "web-0", kind: str = "Pod") -> dict[str, Any]:
    cluster = SnapshotCluster(SnapshotStore(objects))
    request = DiagnosisRequest("why-pending", "why-pending", Target(kind, target, "shop"))
    return run_request(Catalogue.load(), request, cluster, NOW).to_json()


def test_resources_and_taint_grouped_with_closest_fit() -> None:
    message = "0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 3 Insufficient cpu."
    objects = [node(f"n{i}") for i in range(3)] + [node("gpu-0", taints=[GPU])]
    objects += [pod(f"busy-{i}", f"n{i}", cpu=str(2 + i)) for i in range(3)] + [pod("gpu-job", "gpu-0", cpu="3")]
    objects += [pod("web-0", cpu="3", message=message), event("web-0", message)]
    report = why_pending(objects)
    section = report["scheduling"]
    assert report["verdict"]["layer"] == "scheduler"
    assert report["verdict"]["summary"].startswith("web-0 cannot be scheduled: all 4 nodes lack 3 free CPU")
    assert section["case"] == "not_scheduled" and section["scheduled"] is False
    assert [n["name"] for n in section["nodes"]] == ["gpu-0", "n0", "n1", "n2"]
    gpu = section["nodes"][0]
    assert [b["category"] for b in gpu["blocking"]] == ["untolerated_taint", "insufficient_cpu"]
    assert section["closest_fit"] == {"node": "n0", "missing": "1 cpu short; nothing else blocks"}
    assert section["reconciliation"]["agrees"] is True
    assert section["message"]["total_nodes"] == 4
    assert {(g["count"], tuple(g["categories"])) for g in section["groups"]} == {
        (3, ("insufficient_cpu",)), (1, ("untolerated_taint", "insufficient_cpu"))}
    snippets = [r for r in report["remediations"] if r["action"] == "snippet"]
    assert any("cpu: 2" in r["snippet"] for r in snippets)


def test_only_cordon_blocks_offers_uncordon() -> None:
    message = "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable."
    objects = [node("a"), node("b", unschedulable=True), pod("hog", "a", cpu="4"), pod("web-0", message=message)]
    report = why_pending(objects)
    assert report["remediations"][0]["action"] == "uncordon_node"
    assert report["remediations"][0]["target"]["name"] == "b"
    assert report["remediations"][0]["risk"] == "low"


def test_single_node_cluster_verdict_reads_naturally() -> None:
    message = "0/1 nodes are available: 1 node(s) were unschedulable."
    report = why_pending([node("a", unschedulable=True), pod("web-0", message=message)])
    summary = report["verdict"]["summary"]
    assert summary.startswith("web-0 cannot be scheduled: the only node ")
    assert "all 1" not in summary and " nodes is " not in summary


def test_not_ready_taint_points_at_node_layer_and_is_never_tolerated() -> None:
    message = "0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }."
    objects = [node("a", taints=[NOT_READY], ready="False"), node("b", taints=[NOT_READY], ready="False"),
               pod("web-0", message=message)]
    report = why_pending(objects)
    assert report["verdict"]["layer"] == "node"
    assert {b["category"] for n in report["scheduling"]["nodes"] for b in n["blocking"]} == {"node_not_ready_taint"}
    assert not any("not-ready" in r.get("snippet", "") for r in report["remediations"])


def test_reconciliation_reports_a_changed_cluster() -> None:
    message = "0/3 nodes are available: 3 Insufficient cpu."
    objects = [node("a"), node("b"), pod("web-0", message=message)]
    section = why_pending(objects)["scheduling"]
    assert section["reconciliation"]["agrees"] is False
    joined = " ".join(section["reconciliation"]["differences"])
    assert "saw 3 node(s)" in joined and "fit now" in joined


def test_a_lost_pvc_is_a_prefilter_rejection_counted_on_every_node() -> None:
    """podHasPVCs: a PVC in phase Lost fails VolumeBinding's PreFilter, before any filter runs on any node."""
    message = ('0/2 nodes are available: persistentvolumeclaim "data" bound to non-existent persistentvolume '
               '"pv-gone". preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.')
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "shop"},
           "spec": {"volumeName": "pv-gone", "accessModes": ["ReadWriteOnce"], "storageClassName": "standard"},
           "status": {"phase": "Lost"}}
    web = pod("web-0", message=message, volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}])
    section = why_pending([node("a"), node("gpu-0", taints=[GPU]), pvc, web])["scheduling"]
    assert section["reconciliation"]["agrees"] is True, section["reconciliation"]
    lost = ("pv_missing", 'persistentvolumeclaim "data" bound to non-existent persistentvolume "pv-gone"')
    for entry in section["nodes"]:  # gpu-0's taint is listed too, but the scheduler never got that far
        assert lost in [(b["category"], b["detail"]) for b in entry["blocking"]]


def test_a_generic_ephemeral_volume_waits_for_its_pvc_in_the_schedulers_words() -> None:
    message = ('0/1 nodes are available: waiting for ephemeral volume controller to create the persistentvolumeclaim '
               '"web-0-scratch". preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.')
    web = pod("web-0", message=message, volumes=[{"name": "scratch", "ephemeral": {"volumeClaimTemplate": {
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}}])
    section = why_pending([node("a"), web])["scheduling"]
    assert section["reconciliation"]["agrees"] is True
    blocker = section["nodes"][0]["blocking"][0]
    assert (blocker["category"], blocker["detail"]) == (
        "missing_pvc", 'waiting for ephemeral volume controller to create the persistentvolumeclaim "web-0-scratch"')


@pytest.mark.parametrize("message", [
    'running PreFilter plugin "NodeResourcesFit": invalid quantity',
    "node 'b' is not in cache",
])
def test_a_message_that_is_no_verdict_on_nodes_is_not_reconciled_as_a_changed_cluster(message: str) -> None:
    objects = [node("a"), node("b"), pod("hog", "a", cpu="4"), pod("hog2", "b", cpu="4"), pod("web-0", message=message)]
    section = why_pending(objects)["scheduling"]
    assert section["reconciliation"]["agrees"] is True and section["reconciliation"]["differences"] == []
    assert "not a verdict on nodes" in section["reconciliation"]["explanation"]
    assert "changed" not in section["reconciliation"]["explanation"]


@pytest.mark.parametrize(("objects", "case", "layer"), [
    pytest.param([node("a"), crashlooping()], "not_pending", "workload", id="running-crashlooping"),
    pytest.param([node("a"), pod("web-0", "a", phase="Running")], "not_pending", "none", id="running"),
    pytest.param([node("a"), pod("web-0", "a", phase="Succeeded")], "not_pending", "none", id="succeeded"),
    pytest.param([node("a", ready="False"), pod("web-0", "a", phase="Pending")], "scheduled_not_started", "node",
                 id="bound-to-notready-node"),
    pytest.param([node("a"), pod("web-0", schedulerName="my-scheduler")], "no_scheduler", "scheduler",
                 id="unknown-scheduler-name"),
    pytest.param([node("a"), pod("web-0", schedulingGates=[{"name": "kueue.x-k8s.io/admission"}])], "no_scheduler",
                 "scheduler", id="scheduling-gates"),
    pytest.param([node("a"), {**pod("web-0", message="skip schedule deleting pod: shop/web-0"), "metadata": {
        **pod("web-0")["metadata"], "deletionTimestamp": "2026-11-27T05:50:00Z", "finalizers": ["example.com/x"]}}],
        "no_scheduler", "workload", id="being-deleted"),
])
def test_cases_and_layers(objects: list[dict[str, Any]], case: str, layer: str) -> None:
    report = why_pending(objects)
    assert report["scheduling"]["case"] == case
    assert report["verdict"]["layer"] == layer


def test_image_pull_failure_is_workload_layer_with_registry_error() -> None:
    stuck = pod("web-0", "a", phase="Pending")
    stuck["status"]["containerStatuses"] = [{"name": "app", "image": "nginx:nope", "ready": False, "restartCount": 0,
                                             "state": {"waiting": {"reason": "ImagePullBackOff",
                                                                   "message": "manifest unknown"}}}]
    report = why_pending([node("a"), stuck])
    assert report["verdict"]["layer"] == "workload"
    assert "manifest unknown" in report["verdict"]["summary"]


def test_quota_failed_create_is_controller_layer_with_numbers() -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "web", "namespace": "shop", "uid": "d1"},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}}, "status": {}}
    replicaset = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": {"name": "web-abc", "namespace": "shop", "uid": "r1", "labels": {"app": "web"},
                               "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": "d1",
                                                    "controller": True}]},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}}}
    failed = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web-abc.1", "namespace": "shop"},
              "involvedObject": {"kind": "ReplicaSet", "name": "web-abc", "namespace": "shop"},
              "reason": "FailedCreate", "type": "Warning", "lastTimestamp": "2026-11-27T05:59:00Z",
              "message": 'pods "web-abc-x1" is forbidden: exceeded quota: compute, requested: requests.cpu=2, '
                         "used: requests.cpu=9, limited: requests.cpu=10"}
    report = why_pending([node("a"), deployment, replicaset, failed], target="web", kind="Deployment")
    assert report["scheduling"]["case"] == "never_created"
    assert report["verdict"]["layer"] == "controller"
    assert "requested requests.cpu=2, used requests.cpu=9, limited requests.cpu=10" in report["verdict"]["summary"]


def test_workload_pods_grouped_by_shared_cause() -> None:
    message = "0/1 nodes are available: 1 Insufficient cpu."
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "web", "namespace": "shop", "uid": "d1"},
                  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}}, "status": {}}
    replicaset = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": {"name": "web-abc", "namespace": "shop", "uid": "r1", "labels": {"app": "web"},
                               "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": "d1",
                                                    "controller": True}]},
                  "spec": {"selector": {"matchLabels": {"app": "web"}}}}
    pods = []
    for i in range(3):
        member = pod(f"web-abc-{i}", cpu="8", message=message)
        member["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "web-abc", "uid": "r1",
                                                  "controller": True}]
        pods.append(member)
    report = why_pending([node("a"), deployment, replicaset, *pods], target="web", kind="Deployment")
    assert report["verdict"]["summary"].startswith("3 pods of deploy/web cannot be scheduled")
    assert [p["name"] for p in report["scheduling"]["pods"]] == ["web-abc-0", "web-abc-1", "web-abc-2"]


@pytest.mark.parametrize(("nodes", "candidates", "labels", "mode"), [
    pytest.param(40, 40, False, "all", id="small-cluster-reads-all"),
    pytest.param(5000, 5000, False, "all", id="big-cluster-many-candidates"),
    pytest.param(5000, 12, False, "per_node", id="few-candidates-per-node"),
    pytest.param(5000, 0, False, "none", id="no-candidate"),
    pytest.param(5000, 12, True, "all", id="affinity-needs-all"),
])
def test_pods_read_with_fewest_requests(nodes: int, candidates: int, labels: bool, mode: str) -> None:
    assert snapshot.choose_pods_mode(nodes, candidates, labels) == mode


def test_terminal_pods_do_not_count() -> None:
    objects = [node("a", cpu="2"), pod("done", "a", cpu="2", phase="Succeeded"), pod("web-0", cpu="2")]
    cluster = SnapshotCluster(SnapshotStore(objects))
    info = PodInfo.from_object(objects[-1])
    state = snapshot.gather(cluster, [info], analysis.candidates_of([info]))
    assert analysis.evaluate(info, state)[0].fits


CONTROL_PLANE = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
MEMORY_PRESSURE = {"key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule"}


def test_toleration_snippet_never_names_node_condition_or_control_plane_taints() -> None:
    message = ("0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
               "1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) had untolerated taint "
               "{node.kubernetes.io/memory-pressure: }, 1 node(s) had untolerated taint {dedicated: gpu}.")
    objects = [node("cp", taints=[CONTROL_PLANE]), node("sick", taints=[NOT_READY], ready="False"),
               node("pressed", taints=[MEMORY_PRESSURE]), node("gpu", taints=[GPU]), pod("web-0", message=message)]
    report = why_pending(objects)
    snippets = [r for r in report["remediations"] if r["action"] == "snippet"]
    assert len(snippets) == 1
    snippet = snippets[0]["snippet"]
    assert "key: dedicated" in snippet and "value: gpu" in snippet
    for key in ("control-plane", "not-ready", "memory-pressure", "unschedulable"):
        assert key not in snippet and key not in snippets[0]["description"]
    assert report["scheduling"]["closest_fit"] == {
        "node": "gpu", "missing": "toleration for dedicated=gpu:NoSchedule; nothing else blocks"}


def test_control_plane_node_is_never_the_closest_fit_by_toleration() -> None:
    message = "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint " \
              "{node-role.kubernetes.io/control-plane: }."
    objects = [node("cp", taints=[CONTROL_PLANE]), node("w"), pod("hog", "w", cpu="4"), pod("web-0", message=message)]
    report = why_pending(objects)
    assert report["scheduling"]["closest_fit"]["node"] == "w"
    assert not any("control-plane" in r.get("snippet", "") for r in report["remediations"])
    only_cp = why_pending([node("cp", taints=[CONTROL_PLANE]), pod("web-0", message=message)])
    assert only_cp["scheduling"]["closest_fit"]["missing"].startswith(
        "taint node-role.kubernetes.io/control-plane:NoSchedule: a control-plane node, not meant for workloads")
    assert only_cp["remediations"] == []


def test_a_plugin_is_skipped_only_when_its_filter_rejects_no_node() -> None:
    """``Plugin.applies`` is False only where running the Filter would find nothing, on every golden case.

    Every pending pod of every golden snapshot, every plugin: when the plugin says it does not apply,
    its Filter is run anyway on every node and must return no blocker. Both kinds of answer must occur,
    so the check cannot pass by skipping nothing or everything.
    """
    from clusterdoc.workers.scheduling.filters import PLUGINS
    from tests.test_why_pending_golden import CASES, load_store

    skipped = applied = 0
    for case in CASES:
        cluster = SnapshotCluster(load_store(case))
        pending = [obj for obj in cluster.list("Pod") if not (obj.get("spec") or {}).get("nodeName")]
        for obj in pending:
            info = PodInfo.from_object(obj)
            state = snapshot.gather(cluster, [info], lambda state: state.nodes)
            for plugin in PLUGINS:
                pre = plugin.prefilter(info, state)
                if plugin.applies(info, pre):
                    applied += 1
                    continue
                skipped += 1
                found = {node.name: plugin.filter(info, node, state, pre) for node in state.nodes}
                assert not any(found.values()), f"{case}: {plugin.name} skipped for {info.name} but rejects {found}"
    assert skipped > 100 and applied > 100, (skipped, applied)


def big_cluster(node_cpu: list[str], message: str) -> list[dict[str, Any]]:
    """Nodes enough that reading every pod takes more than a few pages, 25 busy pods each, and web-0 pending."""
    objects = [node(f"n{i:03d}", cpu=cpu) for i, cpu in enumerate(node_cpu)]
    objects += [pod(f"busy-{i}-{j}", f"n{i:03d}", cpu="100m") for i in range(len(node_cpu)) for j in range(25)]
    return [*objects, pod("web-0", cpu="12", message=message), event("web-0", message)]


def test_a_pod_bigger_than_every_node_is_answered_without_reading_pods(fake_kube: Any) -> None:
    """Nothing on a node can make room for a request above its whole allocatable: no pod LIST at all."""
    message = "0/200 nodes are available: 200 Insufficient cpu."
    objects = big_cluster(["8"] * 200, message)
    server = fake_kube(SnapshotStore(objects))
    request = DiagnosisRequest("why-pending", "why-pending", Target("Pod", "web-0", "shop"))
    report = run_request(Catalogue.load(), request, live_cluster(server.url), NOW).to_json()
    assert not [r for r in server.requests if r.path == "/api/v1/pods"], "pods were listed"
    assert report["verdict"]["summary"].startswith("web-0 cannot be scheduled: all 200 nodes lack 12 free CPU")
    section = report["scheduling"]
    assert section["reconciliation"]["agrees"] is True
    blocking = section["nodes"][0]["blocking"]
    assert [b["category"] for b in blocking] == ["insufficient_cpu"]
    assert blocking[0]["detail"] == "needs 12 cpu, more than the node's whole allocatable 8"


def test_pods_are_still_read_where_the_request_fits_a_node(fake_kube: Any) -> None:
    """One 16-CPU node could take 12 CPUs if it were empty: its pods decide, so they are read (per node; with
    no fit found, nothing more is read)."""
    message = "0/200 nodes are available: 200 Insufficient cpu."
    objects = big_cluster(["8"] * 199 + ["16"], message)
    objects += [pod(f"hog-{j}", "n199", cpu="1") for j in range(5)]
    server = fake_kube(SnapshotStore(objects))
    request = DiagnosisRequest("why-pending", "why-pending", Target("Pod", "web-0", "shop"))
    report = run_request(Catalogue.load(), request, live_cluster(server.url), NOW).to_json()
    pod_lists = [r for r in server.requests if r.path == "/api/v1/pods"]
    assert pod_lists and all(r.query["fieldSelector"].startswith("spec.nodeName=n199,") for r in pod_lists)
    big = next(n for n in report["scheduling"]["nodes"] if n["name"] == "n199")
    assert big["blocking"][0]["detail"] == "needs 12 cpu, 8500m free (allocatable 16)"  # 25 × 100m + 5 × 1
    small = next(n for n in report["scheduling"]["nodes"] if n["name"] == "n000")
    assert small["blocking"][0]["detail"] == "needs 12 cpu, more than the node's whole allocatable 8"


def test_a_per_node_read_that_finds_a_fit_checks_every_other_pod_for_anti_affinity(fake_kube: Any) -> None:
    """Only n199 can hold 12 CPUs, so only its pods are read (per node). It has room — but a pod on a
    small node of the same zone keeps app=web out of the zone: kube-scheduler rejects n199, and so
    must clusterdoc, which reads every pod once more for such anti-affinity before saying "fits"."""
    message = ("0/200 nodes are available: 199 Insufficient cpu, "
               "1 node(s) didn't satisfy existing pods anti-affinity rules.")
    objects = big_cluster(["8"] * 199 + ["16"], message)
    for obj in objects:
        if obj["kind"] == "Node":
            obj["metadata"]["labels"]["topology.kubernetes.io/zone"] = "a"
    guard = pod("guard", "n000", cpu="100m")
    guard["metadata"]["labels"] = {"app": "guard"}
    guard["spec"]["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "topology.kubernetes.io/zone"}]}}
    server = fake_kube(SnapshotStore([*objects, guard]))
    request = DiagnosisRequest("why-pending", "why-pending", Target("Pod", "web-0", "shop"))
    report = run_request(Catalogue.load(), request, live_cluster(server.url), NOW).to_json()
    pod_lists = [r for r in server.requests if r.path == "/api/v1/pods"]
    per_node = [r for r in pod_lists if r.query["fieldSelector"].startswith("spec.nodeName=n199,")]
    everything = [r for r in pod_lists if not r.query["fieldSelector"].startswith("spec.nodeName=")]
    assert per_node and everything and len(pod_lists) == len(per_node) + len(everything)
    big = next(n for n in report["scheduling"]["nodes"] if n["name"] == "n199")
    assert [b["category"] for b in big["blocking"]] == ["pod_anti_affinity_mismatch"]
    assert "would accept it" not in report["verdict"]["summary"]
    assert report["scheduling"]["reconciliation"]["agrees"] is True
    assert "every pod was read once more for existing pods' anti-affinity" in json.dumps(report)


def test_pods_on_nodes_too_small_for_the_pod_are_read_but_not_summed(fake_kube: Any) -> None:
    """Half the fleet is 8-CPU: for a 12-CPU pod their pods cannot matter, except an existing pod's
    anti-affinity, which reaches every node of its zone."""
    message = "0/200 nodes are available: 200 Insufficient cpu."
    objects = big_cluster(["8", "16"] * 100, message)
    for obj in objects:
        if obj["kind"] == "Node":
            obj["metadata"]["labels"]["topology.kubernetes.io/zone"] = "a" if obj["metadata"]["name"] < "n010" else "b"
    guard = pod("guard", "n000", cpu="100m")  # on a small node, keeps app=web out of zone a
    guard["spec"]["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "topology.kubernetes.io/zone"}]}}
    guard["metadata"]["labels"] = {"app": "guard"}
    hogs = [pod(f"hog-{j}", "n013", cpu="1") for j in range(5)]
    server = fake_kube(SnapshotStore([*objects, guard, *hogs]))
    request = DiagnosisRequest("why-pending", "why-pending", Target("Pod", "web-0", "shop"))
    report = run_request(Catalogue.load(), request, live_cluster(server.url), NOW).to_json()
    pod_lists = [r for r in server.requests if r.path == "/api/v1/pods"]
    assert pod_lists and "continue" not in pod_lists[0].query  # one cluster-wide read, paged
    nodes = {n["name"]: n for n in report["scheduling"]["nodes"]}
    def blocking(name: str) -> list[str]:
        return [b["detail"] for b in nodes[name].get("blocking") or []]

    assert blocking("n012") == ["needs 12 cpu, more than the node's whole allocatable 8"]  # small, zone b
    zone_a = "existing pod shop/guard has anti-affinity against this pod in topology.kubernetes.io/zone=a"
    assert blocking("n002") == ["needs 12 cpu, more than the node's whole allocatable 8", zone_a]  # small, zone a
    assert blocking("n001") == [zone_a]  # big, zone a: room enough, the guard's anti-affinity keeps it out
    assert blocking("n013") == ["needs 12 cpu, 8500m free (allocatable 16)"]  # big, zone b: its pods summed
    assert blocking("n011") == []  # big, zone b, 25 × 100m: fits
    facts = scheduling_facts(report)
    assert facts["Pods read"] == ("every pod; those on the 100 node(s) whose whole allocatable is below the "
                                  "request were not summed: nothing on them can make room")


def test_request_sums_beyond_64_bits_stay_exact() -> None:
    """Ten pods asking 1Ei of ephemeral storage on one node sum past 2**63: still exact, no crash."""
    busy = []
    for j in range(10):
        member = pod(f"huge-{j}", "a", cpu="100m")
        member["spec"]["containers"][0]["resources"]["requests"]["ephemeral-storage"] = "1Ei"
        busy.append(member)
    web = pod("web-0", cpu="1")
    web["spec"]["containers"][0]["resources"]["requests"]["ephemeral-storage"] = "1Gi"
    objects = [node("a"), *busy, web]
    cluster = SnapshotCluster(SnapshotStore(objects))
    info = PodInfo.from_object(web)
    state = snapshot.gather(cluster, [info], analysis.candidates_of([info]))
    assert state.by_name["a"].requested == {"cpu": 1000, "ephemeral-storage": 10 * 2**60}
    assert state.by_name["a"].pod_count == 10
    cpu_only = PodInfo.from_object(pod("web-1", cpu="1"))  # NodeResourcesFit compares only what a pod requests
    state = snapshot.gather(cluster, [cpu_only], analysis.candidates_of([cpu_only]))
    assert state.by_name["a"].requested == {"cpu": 1000}


def test_a_pinned_pods_prefilter_result_is_counted_in_todays_filter_order() -> None:
    """The nodes NodeAffinity's PreFilter result leaves out count under NodeAffinity whatever else they lack: the
    message agrees in 1.37's own order, not by falling back to the pre-1.19 one."""
    from tests.test_why_pending_golden import load_store
    cluster = SnapshotCluster(load_store("pinned-pod-prefilter-result"))
    request = DiagnosisRequest("why-pending", "why-pending", Target("Pod", "debug-worker-3", "monitoring"))
    section = run_request(Catalogue.load(), request, cluster, NOW).to_json()["scheduling"]
    assert section["reconciliation"]["agrees"] is True
    assert "filter order of Kubernetes" not in section["reconciliation"]["explanation"]


def test_an_existing_pods_generic_ephemeral_volume_counts_as_its_pvc() -> None:
    """NodeVolumeLimits counts the PVC ``<pod>-<volume>`` of a pod's generic ephemeral volume (csi.go)."""
    spec = {"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "db-data"}},
                        {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}},
                        {"name": "config", "configMap": {"name": "db"}}]}
    assert list(snapshot._claims_of(spec, "analytics", "db-0")) == ["analytics/db-data", "analytics/db-0-scratch"]


def test_volume_bindings_first_broken_claim_is_the_message_whatever_came_before() -> None:
    """podHasPVCs walks every claim before the unbound-immediate check: claim b missing is the error, though
    claim a (unbound, Immediate) comes first."""
    message = ('0/2 nodes are available: persistentvolumeclaim "b" not found. preemption: 0/2 nodes are available: '
               '2 Preemption is not helpful for scheduling.')
    storage_class = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "std"},
                     "provisioner": "ebs.csi.aws.com", "volumeBindingMode": "Immediate"}
    claim_a = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "a", "namespace": "shop"},
               "spec": {"storageClassName": "std", "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}}}, "status": {"phase": "Pending"}}
    web = pod("web-0", message=message, volumes=[{"name": "a", "persistentVolumeClaim": {"claimName": "a"}},
                                                 {"name": "b", "persistentVolumeClaim": {"claimName": "b"}}])
    section = why_pending([node("n1"), node("n2"), storage_class, claim_a, web, event("web-0", message)])["scheduling"]
    assert section["reconciliation"]["agrees"] is True
    assert {b["category"] for n in section["nodes"] for b in n["blocking"]} == {"missing_pvc"}


def test_a_prefilter_error_outranks_nodeaffinitys_prefilter_result() -> None:
    """A pod pinned to node a with a missing PVC: VolumeBinding's PreFilter error is the whole message; the nodes
    the pin leaves out are not counted under NodeAffinity."""
    pinned = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a"]}]}]}}}
    message = ('0/3 nodes are available: persistentvolumeclaim "data" not found. preemption: 0/3 nodes are available: '
               '3 Preemption is not helpful for scheduling.')
    web = pod("web-0", message=message, affinity=pinned,
              volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}])
    section = why_pending([node("a"), node("b"), node("c"), web, event("web-0", message)])["scheduling"]
    assert section["reconciliation"]["agrees"] is True, section["reconciliation"]
