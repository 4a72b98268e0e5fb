"""Each filter plugin against hand-built nodes and pods, table-driven like the scheduler's own tests."""

from __future__ import annotations

from typing import Any

import pytest

from clusterdoc.workers.scheduling.filters import (
    inter_pod_affinity,
    node_affinity,
    node_name,
    node_ports,
    node_resources_fit,
    node_unschedulable,
    node_volume_limits,
    pod_topology_spread,
    taint_toleration,
    volume_binding,
    volume_zone,
)
from clusterdoc.workers.scheduling.filters.base import Plugin
from clusterdoc.workers.scheduling.inputs import PodInfo, pod_requests
from clusterdoc.workers.scheduling.snapshot import ClusterState, NodeInfo, PodSummary


def make_pod(spec: dict[str, Any] | None = None, labels: dict[str, str] | None = None) -> PodInfo:
    base = {"containers": [{"name": "app", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]}
    return PodInfo.from_object({"kind": "Pod", "metadata": {"name": "web-0", "namespace": "shop",
                                                            "labels": labels or {"app": "web"}},
                                "spec": {**base, **(spec or {})}})


def make_node(name: str = "node-a", labels: dict[str, str] | None = None, taints: list[dict[str, Any]] | None = None,
              unschedulable: bool = False, cpu: str = "4", memory: str = "8Gi", pods: str = "110",
              extra: dict[str, str] | None = None) -> NodeInfo:
    node = NodeInfo.from_object({"kind": "Node", "metadata": {"name": name, "labels": {
        "kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods, **(extra or {})}}})
    node.pods_known = True
    return node


def run(plugin: Plugin, pod: PodInfo, node: NodeInfo, state: ClusterState | None = None) -> list[tuple[str, bool]]:
    state = state or ClusterState([node])
    pre = plugin.prefilter(pod, state)
    return [(b.category, b.resolvable) for b in plugin.filter(pod, node, state, pre)]


GPU = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}


@pytest.mark.parametrize(("tolerations", "taints", "expected"), [
    pytest.param([], [], [], id="no-taints"),
    pytest.param([], [GPU], [("untolerated_taint", False)], id="untolerated"),
    pytest.param([{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}], [GPU], [],
                 id="equal-match"),
    pytest.param([{"key": "dedicated", "value": "cpu"}], [GPU], [("untolerated_taint", False)], id="value-differs"),
    pytest.param([{"key": "dedicated", "operator": "Exists"}], [GPU], [], id="exists-any-effect"),
    pytest.param([{"operator": "Exists"}], [GPU], [], id="empty-key-exists-tolerates-all"),
    pytest.param([{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}], [GPU],
                 [("untolerated_taint", False)], id="effect-differs"),
    pytest.param([], [{"key": "x", "effect": "PreferNoSchedule"}], [], id="prefer-no-schedule-ignored"),
    pytest.param([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                   "tolerationSeconds": 300}],
                 [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}],
                 [("node_not_ready_taint", False)], id="default-noexecute-toleration-not-enough"),
    pytest.param([], [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}],
                 [("node_unreachable_taint", False)], id="unreachable"),
])
def test_taint_toleration(tolerations: list[dict[str, Any]], taints: list[dict[str, Any]],
                          expected: list[tuple[str, bool]]) -> None:
    assert run(taint_toleration.PLUGIN, make_pod({"tolerations": tolerations}), make_node(taints=taints)) == expected


@pytest.mark.parametrize(("unschedulable", "tolerations", "expected"), [
    pytest.param(False, [], [], id="schedulable"),
    pytest.param(True, [], [("node_unschedulable", False)], id="cordoned"),
    pytest.param(True, [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}], [],
                 id="tolerates-cordon"),
])
def test_node_unschedulable(unschedulable: bool, tolerations: list[dict[str, Any]], expected: list) -> None:
    pod = make_pod({"tolerations": tolerations})
    assert run(node_unschedulable.PLUGIN, pod, make_node(unschedulable=unschedulable)) == expected


@pytest.mark.parametrize(("wanted", "expected"), [
    pytest.param("", [], id="unset"),
    pytest.param("node-a", [], id="same"),
    pytest.param("node-b", [("node_name_mismatch", False)], id="other"),
])
def test_node_name(wanted: str, expected: list) -> None:
    assert run(node_name.PLUGIN, make_pod({"nodeName": wanted}), make_node()) == expected


def _affinity(*expressions: dict[str, Any], fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    term: dict[str, Any] = {"matchExpressions": list(expressions)}
    if fields:
        term["matchFields"] = fields
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [term]}}}}


MISMATCH = [("node_selector_or_affinity_mismatch", False)]


@pytest.mark.parametrize(("spec", "labels", "expected"), [
    pytest.param({"nodeSelector": {"disktype": "ssd"}}, {"disktype": "ssd"}, [], id="selector-match"),
    pytest.param({"nodeSelector": {"disktype": "ssd"}}, {"disktype": "hdd"}, MISMATCH, id="selector-value"),
    pytest.param({"nodeSelector": {"disktype": "ssd"}}, {}, MISMATCH, id="selector-missing"),
    pytest.param(_affinity({"key": "zone", "operator": "In", "values": ["a", "b"]}), {"zone": "b"}, [], id="in"),
    pytest.param(_affinity({"key": "zone", "operator": "NotIn", "values": ["a"]}), {}, [], id="notin-absent"),
    pytest.param(_affinity({"key": "zone", "operator": "NotIn", "values": ["a"]}), {"zone": "a"}, MISMATCH,
                 id="notin-present"),
    pytest.param(_affinity({"key": "gpu", "operator": "Exists"}), {}, MISMATCH, id="exists"),
    pytest.param(_affinity({"key": "gpu", "operator": "DoesNotExist"}), {}, [], id="does-not-exist"),
    pytest.param(_affinity({"key": "cores", "operator": "Gt", "values": ["8"]}), {"cores": "16"}, [], id="gt"),
    pytest.param(_affinity({"key": "cores", "operator": "Lt", "values": ["8"]}), {"cores": "16"}, MISMATCH, id="lt"),
    pytest.param(_affinity({"key": "cores", "operator": "Gt", "values": ["8"]}), {"cores": "many"}, MISMATCH,
                 id="gt-not-integer"),
    pytest.param(_affinity(fields=[{"key": "metadata.name", "operator": "In", "values": ["node-a"]}]), {}, [],
                 id="match-fields"),
    pytest.param({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{}]}}}}, {}, MISMATCH, id="empty-term-matches-nothing"),
    # strconv.ParseInt(v, 10, 64): no "_" separators, nothing beyond 64 bits — else the term or requirement fails
    pytest.param(_affinity({"key": "rank", "operator": "Gt", "values": ["1_000"]}), {"rank": "2000"}, MISMATCH,
                 id="gt-value-with-underscore-is-unparseable"),
    pytest.param(_affinity({"key": "rank", "operator": "Lt", "values": ["100"]}), {"rank": "1_0"}, MISMATCH,
                 id="lt-node-label-with-underscore"),
    pytest.param(_affinity({"key": "rank", "operator": "Gt", "values": ["100"]}), {"rank": "9223372036854775808"},
                 MISMATCH, id="gt-node-label-beyond-int64"),
    pytest.param(_affinity({"key": "rank", "operator": "Lt", "values": ["+5"]}), {"rank": "3"}, MISMATCH,
                 id="signed-value-parses-but-is-no-label-value"),  # NewRequirement: every value must be a label value
])
def test_node_affinity(spec: dict[str, Any], labels: dict[str, str], expected: list) -> None:
    assert run(node_affinity.PLUGIN, make_pod(spec), make_node(labels=labels)) == expected


def test_node_affinity_prefilter_result_keeps_only_the_named_nodes() -> None:
    """Every term names nodes by matchFields metadata.name In (a DaemonSet pod): PreFilterResult. The other
    nodes are out before any Filter runs, so a cordoned one counts under NodeAffinity, not NodeUnschedulable."""
    pinned = make_pod(_affinity(fields=[{"key": "metadata.name", "operator": "In", "values": ["w3"]}]))
    nodes = [make_node("w1", unschedulable=True), make_node("w2", taints=[GPU]), make_node("w3")]
    state = ClusterState(nodes)
    pre = node_affinity.PLUGIN.prefilter(pinned, state)
    assert pre == {"w3"}
    blockers = {node.name: node_affinity.PLUGIN.filter(pinned, node, state, pre) for node in nodes}
    assert blockers["w3"] == []
    assert [(b.reason, b.left_out) for b in blockers["w1"]] == [("node(s) didn't satisfy plugin(s) [NodeAffinity]",
                                                                  True)]
    either = make_pod({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["w1"]}]},
                              {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}]}}}})
    assert node_affinity.PLUGIN.prefilter(either, state) is None  # a term naming no node: every node stays in
    conflict = make_pod(_affinity(fields=[{"key": "metadata.name", "operator": "In", "values": ["w1"]},
                                          {"key": "metadata.name", "operator": "In", "values": ["w2"]}]))
    pre = node_affinity.PLUGIN.prefilter(conflict, state)
    assert pre == set()
    assert [(b.reason, b.prefilter) for b in node_affinity.PLUGIN.filter(conflict, nodes[2], state, pre)] == [
        ("pod affinity terms conflict", True)]


def _ports(port: int, ip: str = "") -> dict[str, Any]:
    return {"containers": [{"name": "app", "ports": [{"containerPort": 80, "hostPort": port, "hostIP": ip}]}]}


@pytest.mark.parametrize(("spec", "used", "expected"), [
    pytest.param(_ports(8080), [], [], id="free"),
    pytest.param(_ports(8080), [("0.0.0.0", "TCP", 8080)], [("host_port_conflict", True)], id="taken"),
    pytest.param(_ports(8080, "10.0.0.1"), [("10.0.0.2", "TCP", 8080)], [], id="different-ips"),
    pytest.param(_ports(8080, "10.0.0.1"), [("0.0.0.0", "TCP", 8080)], [("host_port_conflict", True)],
                 id="wildcard-ip"),
    pytest.param(_ports(8080), [("0.0.0.0", "UDP", 8080)], [], id="other-protocol"),
])
def test_node_ports(spec: dict[str, Any], used: list, expected: list) -> None:
    node = make_node()
    node.used_ports = used
    assert run(node_ports.PLUGIN, make_pod(spec), node) == expected


def _containers(*cpus: str, init: list[tuple[str, str | None]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}", "resources": {"requests": {"cpu": c}}}
                                           for i, c in enumerate(cpus)]}
    if init:
        spec["initContainers"] = [
            {"name": f"i{i}", "resources": {"requests": {"cpu": c}}, **({"restartPolicy": policy} if policy else {})}
            for i, (c, policy) in enumerate(init)
        ]
    return spec


@pytest.mark.parametrize(("spec", "expected_cpu"), [
    pytest.param(_containers("500m", "250m"), 750, id="sum-of-containers"),
    pytest.param(_containers("500m", init=[("2", None)]), 2000, id="init-bigger"),
    pytest.param(_containers("500m", init=[("100m", None)]), 500, id="app-bigger"),
    pytest.param(_containers("500m", init=[("200m", "Always"), ("1", None)]), 1200, id="sidecar-plus-later-init"),
    pytest.param(_containers("500m", init=[("200m", "Always")]), 700, id="sidecar-adds-to-sum"),
    pytest.param({**_containers("500m"), "overhead": {"cpu": "100m"}}, 600, id="overhead"),
])
def test_effective_request(spec: dict[str, Any], expected_cpu: int) -> None:
    assert pod_requests(spec)["cpu"] == expected_cpu


@pytest.mark.parametrize(("requests", "used", "pod_count", "expected"), [
    pytest.param({"cpu": "1"}, {"cpu": 3000}, 0, [], id="fits-exactly"),
    pytest.param({"cpu": "2"}, {"cpu": 3000}, 0, [("insufficient_cpu", True)], id="cpu-short"),
    pytest.param({"cpu": "8"}, {}, 0, [("insufficient_cpu", False)], id="above-allocatable-unresolvable"),
    pytest.param({"memory": "2Gi"}, {"memory": 7 * 2**30}, 0, [("insufficient_memory", True)], id="memory"),
    pytest.param({"cpu": "1"}, {}, 110, [("insufficient_pods", True)], id="too-many-pods"),
    pytest.param({"nvidia.com/gpu": "1"}, {}, 0, [("insufficient_extended_resource", False)], id="extended-absent"),
    pytest.param({"ephemeral-storage": "20Gi"}, {}, 0, [("insufficient_ephemeral_storage", False)],
                 id="ephemeral"),
])
def test_node_resources_fit(requests: dict[str, str], used: dict[str, int], pod_count: int, expected: list) -> None:
    node = make_node(extra={"ephemeral-storage": "10Gi"})
    node.requested, node.pod_count = dict(used), pod_count
    pod = make_pod({"containers": [{"name": "app", "resources": {"requests": requests}}]})
    assert run(node_resources_fit.PLUGIN, pod, node) == expected


def _pvc(name: str, volume: str = "", storage_class: str = "standard") -> dict[str, Any]:
    spec: dict[str, Any] = {"storageClassName": storage_class, "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}}}
    meta: dict[str, Any] = {"name": name, "namespace": "shop"}
    if volume:
        spec["volumeName"] = volume
        meta["annotations"] = {"pv.kubernetes.io/bind-completed": "yes"}
    return {"kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec}


def _pv(name: str, host: str | None = None, zone: str | None = None, driver: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                            "storageClassName": "local"}
    if host:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [host]}]}]}}
    if driver:
        spec["csi"] = {"driver": driver, "volumeHandle": name}
    labels = {"topology.kubernetes.io/zone": zone} if zone else {}
    return {"kind": "PersistentVolume", "metadata": {"name": name, "labels": labels}, "spec": spec,
            "status": {"phase": "Available"}}


def _class(name: str, mode: str = "WaitForFirstConsumer", provisioner: str = "ebs.csi.aws.com") -> dict[str, Any]:
    return {"kind": "StorageClass", "metadata": {"name": name}, "provisioner": provisioner, "volumeBindingMode": mode}


def _volume_state(node: NodeInfo, pvcs: list, pvs: list, classes: list) -> ClusterState:
    state = ClusterState([node])
    state.pvcs = {f"shop/{p['metadata']['name']}": p for p in pvcs}
    state.pvs = {p["metadata"]["name"]: p for p in pvs}
    state.storage_classes = {c["metadata"]["name"]: c for c in classes}
    return state


CLAIM = {"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}


@pytest.mark.parametrize(("pvcs", "pvs", "classes", "expected"), [
    pytest.param([], [], [], [("missing_pvc", False)], id="pvc-missing"),
    pytest.param([_pvc("data", "pv-1")], [_pv("pv-1", host="node-a")], [], [], id="bound-here"),
    pytest.param([_pvc("data", "pv-1")], [_pv("pv-1", host="node-b")], [], [("volume_node_affinity_conflict", False)],
                 id="bound-elsewhere"),
    pytest.param([_pvc("data", "pv-gone")], [], [], [("pv_missing", False)], id="bound-to-missing-pv"),
    pytest.param([_pvc("data", storage_class="fast")], [], [], [("unbound_pvc", False)], id="class-missing"),
    pytest.param([_pvc("data")], [], [_class("standard", "Immediate")], [("unbound_pvc", False)],
                 id="immediate-unbound"),
    pytest.param([_pvc("data")], [], [_class("standard")], [], id="wffc-dynamic"),
    pytest.param([_pvc("data", storage_class="local")], [_pv("pv-1", host="node-b")],
                 [_class("local", provisioner="kubernetes.io/no-provisioner")], [("unbound_pvc", False)],
                 id="wffc-static-elsewhere"),
    pytest.param([_pvc("data", storage_class="local")], [_pv("pv-1", host="node-a")],
                 [_class("local", provisioner="kubernetes.io/no-provisioner")], [], id="wffc-static-here"),
])
def test_volume_binding(pvcs: list, pvs: list, classes: list, expected: list) -> None:
    node = make_node()
    assert run(volume_binding.PLUGIN, make_pod(CLAIM), node, _volume_state(node, pvcs, pvs, classes)) == expected


@pytest.mark.parametrize(("node_labels", "expected"), [
    pytest.param({"topology.kubernetes.io/zone": "us-east-1a"}, [], id="same-zone"),
    pytest.param({"topology.kubernetes.io/zone": "us-east-1b"}, [("volume_zone_conflict", False)], id="other-zone"),
    pytest.param({}, [], id="node-without-zone-labels"),
])
def test_volume_zone(node_labels: dict[str, str], expected: list) -> None:
    node = make_node(labels=node_labels)
    state = _volume_state(node, [_pvc("data", "pv-1")], [_pv("pv-1", zone="us-east-1a")], [])
    assert run(volume_zone.PLUGIN, make_pod(CLAIM), node, state) == expected


@pytest.mark.parametrize(("limit", "attached", "expected"), [
    pytest.param(2, 1, [], id="room-left"),
    pytest.param(2, 2, [("max_volume_count", True)], id="at-limit"),
])
def test_node_volume_limits(limit: int, attached: int, expected: list) -> None:
    node = make_node()
    pvcs = [_pvc("data", "pv-new")] + [_pvc(f"old-{i}", f"pv-{i}") for i in range(attached)]
    pvs = [_pv("pv-new", driver="ebs.csi.aws.com")] + [_pv(f"pv-{i}", driver="ebs.csi.aws.com")
                                                       for i in range(attached)]
    state = _volume_state(node, pvcs, pvs, [])
    state.csinodes = {"node-a": {"spec": {"drivers": [{"name": "ebs.csi.aws.com", "allocatable": {"count": limit}}]}}}
    node.claims = {f"shop/old-{i}" for i in range(attached)}
    assert run(node_volume_limits.PLUGIN, make_pod(CLAIM), node, state) == expected


def _term(labels: dict[str, str], key: str = "kubernetes.io/hostname") -> dict[str, Any]:
    return {"labelSelector": {"matchLabels": labels}, "topologyKey": key}


def _existing(name: str, node: str, labels: dict[str, str], anti: list | None = None) -> PodSummary:
    return PodSummary("shop", name, node, labels, anti or [], False)


@pytest.mark.parametrize(("spec", "labels", "pods", "expected"), [
    pytest.param({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        _term({"app": "db"})]}}}, {"app": "web"}, [_existing("db-0", "node-a", {"app": "db"})], [], id="affinity-met"),
    pytest.param({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        _term({"app": "db"})]}}}, {"app": "web"}, [_existing("db-0", "node-b", {"app": "db"})],
        [("pod_affinity_mismatch", False)], id="affinity-elsewhere"),
    pytest.param({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        _term({"app": "web"})]}}}, {"app": "web"}, [], [], id="first-of-self-affine-group"),
    pytest.param({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        _term({"app": "web"})]}}}, {"app": "web"}, [_existing("web-1", "node-a", {"app": "web"})],
        [("pod_anti_affinity_mismatch", True)], id="anti-affinity"),
    pytest.param({}, {"app": "web"}, [_existing("cache-0", "node-a", {"app": "cache"},
                                                anti=[_term({"app": "web"})])],
                 [("pod_anti_affinity_mismatch", True)], id="existing-pod-anti-affinity"),
])
def test_inter_pod_affinity(spec: dict[str, Any], labels: dict[str, str], pods: list[PodSummary],
                            expected: list) -> None:
    node_a, node_b = make_node("node-a"), make_node("node-b")
    state = ClusterState([node_a, node_b])
    state.labelled_pods = pods
    state.anti_affinity_pods = [p for p in pods if p.anti_affinity_terms]
    assert run(inter_pod_affinity.PLUGIN, make_pod(spec, labels), node_a, state) == expected


def _spread(max_skew: int = 1, key: str = "zone") -> dict[str, Any]:
    return {"topologySpreadConstraints": [{"maxSkew": max_skew, "topologyKey": key,
                                           "whenUnsatisfiable": "DoNotSchedule",
                                           "labelSelector": {"matchLabels": {"app": "web"}}}]}


@pytest.mark.parametrize(("spec", "node_zone", "in_a", "in_b", "expected"), [
    pytest.param(_spread(), "a", 1, 0, [("topology_spread_mismatch", True)], id="skew-exceeded"),
    pytest.param(_spread(), "b", 1, 0, [], id="emptier-domain"),
    pytest.param(_spread(max_skew=2), "a", 1, 0, [], id="within-max-skew"),
    pytest.param(_spread(), None, 0, 0, [("topology_spread_mismatch", False)], id="missing-label"),
    pytest.param({"topologySpreadConstraints": [{**_spread()["topologySpreadConstraints"][0],
                                                 "whenUnsatisfiable": "ScheduleAnyway"}]}, "a", 5, 0, [],
                 id="schedule-anyway-ignored"),
])
def test_pod_topology_spread(spec: dict[str, Any], node_zone: str | None, in_a: int, in_b: int,
                             expected: list) -> None:
    candidate = make_node("node-x", labels={"zone": node_zone} if node_zone else {})
    node_a, node_b = make_node("node-a", labels={"zone": "a"}), make_node("node-b", labels={"zone": "b"})
    state = ClusterState([candidate, node_a, node_b])
    state.labelled_pods = ([_existing(f"a{i}", "node-a", {"app": "web"}) for i in range(in_a)]
                           + [_existing(f"b{i}", "node-b", {"app": "web"}) for i in range(in_b)])
    assert run(pod_topology_spread.PLUGIN, make_pod(spec), candidate, state) == expected


def test_a_cordoned_nodes_unschedulable_taint_is_left_to_node_unschedulable_only_with_no_schedule() -> None:
    cordon_no_execute = {"key": "node.kubernetes.io/unschedulable", "effect": "NoExecute"}
    cordon_no_schedule = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
    pod = make_pod({"tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                                     "effect": "NoSchedule"}]})
    node = make_node(unschedulable=True, taints=[cordon_no_schedule, cordon_no_execute])
    assert run(taint_toleration.PLUGIN, pod, node) == [("untolerated_taint", False)]  # NoExecute is not tolerated
    assert run(taint_toleration.PLUGIN, make_pod(), make_node(unschedulable=True, taints=[cordon_no_schedule])) == []


def test_the_scheduler_reads_allocatable_only_and_no_pods_entry_allows_no_pod() -> None:
    """``status.allocatable`` without ``pods``: AllowedPodNumber 0, so "Too many pods"; capacity is never read."""
    node = NodeInfo.from_object({"kind": "Node", "metadata": {"name": "odd"}, "spec": {},
                                 "status": {"allocatable": {"cpu": "4", "memory": "8Gi"},
                                            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}})
    node.pods_known = True
    assert run(node_resources_fit.PLUGIN, make_pod(), node) == [("insufficient_pods", True)]


def test_an_ephemeral_volumes_pvc_owned_by_another_pod_rejects_every_node() -> None:
    """ephemeral.VolumeIsForPod: the PVC named <pod>-<volume> must be controlled by this pod."""
    pod = PodInfo.from_object({"kind": "Pod", "metadata": {"name": "app", "namespace": "shop", "uid": "uid-app"},
                               "spec": {"containers": [{"name": "c"}], "volumes": [
                                   {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}]}})
    node = make_node()

    def owned_by(uid: str) -> ClusterState:
        pvc = {"kind": "PersistentVolumeClaim", "metadata": {"name": "app-scratch", "namespace": "shop",
               "ownerReferences": [{"kind": "Pod", "name": "app", "uid": uid, "controller": True}]},
               "spec": {"storageClassName": "std"}}
        state = ClusterState([node])
        state.pvcs = {"shop/app-scratch": pvc}
        state.storage_classes = {"std": {"metadata": {"name": "std"}, "provisioner": "ebs.csi.aws.com",
                                         "volumeBindingMode": "WaitForFirstConsumer"}}
        return state

    pre = volume_binding.PLUGIN.prefilter(pod, owned_by("uid-someone-else"))
    assert [(b.category, b.reason, b.prefilter) for b in pre.everywhere] == [
        ("missing_pvc", "PVC shop/app-scratch was not created for pod shop/app (pod is not owner)", True)]
    assert volume_binding.PLUGIN.prefilter(pod, owned_by("uid-app")).everywhere == []


def test_spread_constraints_are_checked_in_order_a_skew_before_a_later_missing_key() -> None:
    """filtering.go walks the constraints in order: a node over the skew of the first constraint is
    Unschedulable ("didn't match pod topology spread constraints") even if it lacks the second's key."""
    def spread(key: str) -> dict[str, Any]:
        return {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": "web"}}}

    candidate = make_node("node-x", labels={"zone": "a"})  # no "rack" label
    others = [make_node("node-a", labels={"zone": "a", "rack": "r1"}),
              make_node("node-b", labels={"zone": "b", "rack": "r2"})]
    state = ClusterState([candidate, *others])
    state.labelled_pods = [_existing(f"a{i}", "node-a", {"app": "web"}) for i in range(2)]
    for order, reason in (((spread("zone"), spread("rack")), pod_topology_spread.ERR_REASON_CONSTRAINTS_NOT_MATCH),
                          ((spread("rack"), spread("zone")), pod_topology_spread.ERR_REASON_NODE_LABEL_NOT_MATCH)):
        pod = make_pod({"topologySpreadConstraints": list(order)})
        pre = pod_topology_spread.PLUGIN.prefilter(pod, state)
        assert [b.reason for b in pod_topology_spread.PLUGIN.filter(pod, candidate, state, pre)] == [reason]


def test_delayed_claims_are_matched_smallest_first() -> None:
    """byPVCSize: the 1Gi claim (selecting tier=fast) takes pv-a before the 5Gi claim could, so both bind."""
    def claim(name: str, size: str, selector: dict[str, Any] | None = None) -> dict[str, Any]:
        spec: dict[str, Any] = {"storageClassName": "local", "accessModes": ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": size}}}
        if selector:
            spec["selector"] = selector
        return {"metadata": {"name": name, "namespace": "shop"}, "spec": spec, "status": {"phase": "Pending"}}

    def volume(name: str, size: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
        return {"metadata": {"name": name, "labels": labels or {}}, "status": {"phase": "Available"},
                "spec": {"storageClassName": "local", "capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"]}}

    node = make_node()
    state = ClusterState([node])
    state.storage_classes = {"local": {"metadata": {"name": "local"}, "provisioner": "kubernetes.io/no-provisioner",
                                       "volumeBindingMode": "WaitForFirstConsumer"}}
    state.pvcs = {"shop/big": claim("big", "5Gi"),
                  "shop/small": claim("small", "1Gi", {"matchLabels": {"tier": "fast"}})}
    state.pvs = {"pv-a": volume("pv-a", "5Gi", {"tier": "fast"}), "pv-b": volume("pv-b", "10Gi")}
    pod = make_pod({"volumes": [{"name": "x", "persistentVolumeClaim": {"claimName": "big"}},
                                {"name": "y", "persistentVolumeClaim": {"claimName": "small"}}]})
    assert run(volume_binding.PLUGIN, pod, node, state) == []
