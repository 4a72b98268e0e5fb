"""FailedScheduling wordings by release, 1.2 to 1.35: format, node total, and (category, nodes) per reason.

Rows marked with a source were copied from public issue threads (the URL names the thread);
the others are built from the format strings of the release's scheduler (``FitError.Error``,
``predicates/error.go``, the plugins' reason constants). Every format of
``message.FORMATS`` and every old predicate name of ``message.PREDICATE_CATEGORIES`` has a row, with
its category written out here independently of the parser's tables.
"""

from __future__ import annotations

import pytest

from clusterdoc.workers.scheduling.message import FORMATS, PREDICATE_CATEGORIES, parse

Pairs = set[tuple[str, int | None]]
PNH3 = " preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."

ROWS: list[tuple[str, str, str, int | None, Pairs]] = [
    # (release, format, message, total, {(category, nodes)})
    # -- 1.2-1.4 ---------------------------------------------------------------------------------
    ("1.4", "fit-failure-bare", "pod (loudmail-deployment-1671311517-s1nb9) failed to fit in any node",
     None, set()),  # kubernetes/kubernetes#9207
    ("1.2", "fit-failure-per-node", "pod (web-1) failed to fit in any node\nfit failure on node (node-1): Insufficient "
     "CPU\nfit failure on node (node-2): Insufficient CPU\nfit failure on node (node-3): PodFitsHostPorts\n",
     3, {("insufficient_cpu", 2), ("host_port_conflict", 1)}),
    ("1.3", "fit-failure-per-node", "pod (db-0) failed to fit in any node\nfit failure on node (ip-10-0-0-5): "
     "Insufficient Memory\n", 1, {("insufficient_memory", 1)}),
    # -- 1.5-1.6 ---------------------------------------------------------------------------------
    ("1.5", "fit-failure-summary", "pod (test-1012964845-v8915) failed to fit in any node\nfit failure summary on "
     "nodes : Insufficient pods (2), PodToleratesNodeTaints (1)",
     None, {("insufficient_pods", 2), ("untolerated_taint", 1)}),  # kubernetes/kubernetes#41070
    ("1.6", "fit-failure-summary", "pod (vsphere-e2e-j11sb) failed to fit in any node - fit failure summary on nodes "
     ": MatchNodeSelector (2), PodToleratesNodeTaints (1)",
     None, {("node_selector_or_affinity_mismatch", 2), ("untolerated_taint", 1)}),  # kubernetes/kops#2730
    ("1.5", "fit-failure-summary", "pod (router-1-deploy) failed to fit in any node\nfit failure summary on nodes : "
     "PodFitsHostPorts (1), CheckNodeMemoryPressure (1)",
     None, {("host_port_conflict", 1), ("untolerated_taint", 1)}),  # after openshift/origin#11260
    # -- 1.7-1.8 ---------------------------------------------------------------------------------
    ("1.7", "predicates", "No nodes are available that match all of the following predicates:: Insufficient cpu (9), "
     "Insufficient memory (15), MatchNodeSelector (18).",
     None, {("insufficient_cpu", 9), ("insufficient_memory", 15), ("node_selector_or_affinity_mismatch", 18)}),
    # argoproj/argo-workflows#190
    ("1.8", "predicates", "No nodes are available that match all of the following predicates:: "
     "MatchInterPodAffinity (2), NoVolumeZoneConflict (1), PodToleratesNodeTaints (1).",
     None, {("pod_affinity_mismatch", 2), ("volume_zone_conflict", 1), ("untolerated_taint", 1)}),
    # -- 1.9-1.15 (phrases replace predicate names) ----------------------------------------------
    ("1.9", "0/N", "0/4 nodes are available: 1 node(s) had no available disk, 3 node(s) didn't match service "
     "affinity.", 4, {("volume_disk_conflict", 1), ("service_affinity_mismatch", 3)}),
    ("1.11", "0/N", "0/3 nodes are available: 1 node(s) had disk pressure, 2 node(s) were not ready.",
     3, {("untolerated_taint", 1), ("node_not_ready_taint", 2)}),
    ("1.13", "0/N", "0/5 nodes are available: 2 node(s) didn't have the requested labels, 3 node(s) had taints that "
     "the pod didn't tolerate.", 5, {("node_selector_or_affinity_mismatch", 2), ("untolerated_taint", 3)}),
    ("1.14", "0/N", "0/3 nodes are available: 3 node(s) had volume node affinity conflict.",
     3, {("volume_node_affinity_conflict", 3)}),
    # -- 1.16-1.24 -------------------------------------------------------------------------------
    ("1.17", "single-reason", 'error while running "VolumeBinding" filter plugin for pod '
     '"my-release-jenkins-65bdc49d67-cplct": pod has unbound immediate PersistentVolumeClaims',
     None, {("unbound_pvc", None)}),  # bitnami/charts#2178
    ("1.18", "single-reason", 'running "VolumeBinding" filter plugin for pod "rabbitmq-cluster-0": pod has unbound '
     "immediate PersistentVolumeClaims", None, {("unbound_pvc", None)}),  # jharting/openshift-rabbitmq-cluster#14
    ("1.18", "0/N", "0/9 nodes are available: 8 node(s) didn't have free ports for the requested pod ports.",
     9, {("host_port_conflict", 8)}),  # kubernetes/kubernetes#91340
    ("1.19", "0/N", "0/21 nodes are available: 1 node(s) didn't find available persistent volumes to bind, 1 node(s) "
     "didn't match pod affinity/anti-affinity, 1 node(s) didn't match pod anti-affinity rules, 1 node(s) had taint "
     "{node.k8s.test/lifecycle: offline}, that the pod didn't tolerate, 18 node(s) didn't match Pod's node affinity.",
     21, {("unbound_pvc", 1), ("pod_anti_affinity_mismatch", 1), ("untolerated_taint", 1),
          ("node_selector_or_affinity_mismatch", 18)}),  # kubernetes-sigs/cluster-capacity#137
    ("1.20", "0/N", '0/3 nodes are available: 3 persistentvolumeclaim "data" not found.', 3, {("missing_pvc", 3)}),
    ("1.21", "0/N", '0/3 nodes are available: running PreFilter plugin "VolumeBinding": error getting PVC '
     '"default/data": could not find v1.PersistentVolumeClaim "default/data".', 3, {("missing_pvc", 3)}),
    ("1.24", "0/N", "0/4 nodes are available: 1 node(s) did not have enough free storage, 3 node(s) unavailable due "
     "to one or more pvc(s) bound to non-existent pv(s).", 4,
     {("insufficient_storage_capacity", 1), ("pv_missing", 3)}),
    # -- 1.25-1.35 -------------------------------------------------------------------------------
    ("1.27", "0/N", '0/5 nodes are available: persistentvolumeclaim "uploads" not found. preemption: 0/5 nodes are '
     "available: 5 Preemption is not helpful for scheduling..", 5, {("missing_pvc", 5)}),
    ("1.28", "0/N", "0/3 nodes are available: 3 node has pod using PersistentVolumeClaim with the same name and "
     "ReadWriteOncePod access mode." + PNH3, 3, {("volume_rwop_conflict", 3)}),
    ("1.30", "0/N", "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims." + PNH3,
     3, {("unbound_pvc", 3)}),
    ("1.34", "0/N", "0/2 nodes are available: 1 cannot allocate all claims, 1 node(s) didn't match Pod's node "
     "affinity/selector. still not schedulable, preemption: 0/2 nodes are available: 2 Preemption is not helpful for "
     "scheduling.", 2, {("dra_cannot_allocate", 1), ("node_selector_or_affinity_mismatch", 1)}),
    ("1.34", "0/N", "0/3 nodes are available: 1 Insufficient cpu, 2 resourceclaim not available on the node." + PNH3,
     3, {("insufficient_cpu", 1), ("resource_claim_node_mismatch", 2)}),
    ("1.34", "0/N", '0/3 nodes are available: pod "train-0": ResourceClaim not created yet.' + PNH3,
     3, {("resource_claim_missing", 3)}),
    ("1.34", "0/N", "0/3 nodes are available: resourceclaim in use." + PNH3, 3, {("resource_claim_in_use", 3)}),
    ("1.34", "0/N", "0/3 nodes are available: request gpu: device class gpu.nvidia.com does not exist." + PNH3,
     3, {("device_class_missing", 3)}),
    ("1.34", "0/N", '0/3 nodes are available: resourceclaim.resource.k8s.io "shared" not found.' + PNH3,
     3, {("resource_claim_missing", 3)}),
    ("1.35", "0/N", "0/6 nodes are available: 6 node(s) had untolerated taint(s). preemption: 0/6 nodes are "
     "available: 6 Preemption is not helpful for scheduling.", 6, {("untolerated_taint", 6)}),
    ("1.33", "0/N", "0/3 nodes are available: 3 node(s) didn't match PersistentVolume's node affinity.",
     3, {("volume_node_affinity_conflict", 3)}),
    # -- messages that are not per-node counts ----------------------------------------------------
    ("1.2", "single-reason", "node 'ip-172-31-0-242.cn-north-1.compute.internal' is not in cache",
     None, {("node_not_in_cache", None)}),  # asiainfoLDP/datafoundry-troubleshooting#3
    ("1.9", "single-reason", "node 'node-xyz' not found", None, {("node_not_in_cache", None)}),  # kubernetes#56261
    ("1.22", "single-reason", "skip schedule deleting pod: shop/web-0", None, {("pod_being_deleted", None)}),
    ("1.37", "single-reason", 'running PreFilter plugin "VolumeBinding": waiting for ephemeral volume controller to '
     'create the persistentvolumeclaim "web-0-scratch"', None, {("missing_pvc", None)}),  # volume_binding.go
    ("1.37", "0/N", "0/2 nodes are available: PVC default/app-scratch was not created for pod default/app (pod is not "
     "owner). preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.", 2,
     {("missing_pvc", 2)}),  # seen from the real kube-scheduler 1.37 (ephemeral.VolumeIsForPod)
    ("1.37", "0/N", '0/3 nodes are available: waiting for ephemeral volume controller to create the '
     'persistentvolumeclaim "web-0-scratch". preemption: 0/3 nodes are available: 3 Preemption is not helpful for '
     'scheduling.', 3, {("missing_pvc", 3)}),  # a PreFilter rejection counts on all N
    ("1.26", "single-reason", 'running PreFilter plugin "NodeResourcesFit": invalid quantity',
     None, {("scheduler_error", None)}),
    ("1.29", "single-reason", 'binding rejected: running Bind plugin "DefaultBinder": Operation cannot be fulfilled '
     'on pods/binding "web-0": pod web-0 is being deleted, cannot be assigned to a host',
     None, {("scheduler_error", None)}),
    ("any", "no-nodes", "no nodes available to schedule pods", 0, set()),
    ("extender", "unrecognised", "gpu-extender: no GPU partition with 3 free slices", None, {("other", None)}),
]

OLD_PREDICATES: dict[str, tuple[str, str]] = {
    # name -> (release that printed it, category); predicates/error.go of each release
    "PodToleratesNodeTaints": ("1.5", "untolerated_taint"),
    "PodToleratesNodeNoExecuteTaints": ("1.6", "untolerated_taint"),
    "MatchNodeSelector": ("1.5", "node_selector_or_affinity_mismatch"),
    "HostName": ("1.5", "node_name_mismatch"),
    "PodFitsHost": ("1.8", "node_name_mismatch"),
    "PodFitsHostPorts": ("1.5", "host_port_conflict"),
    "PodFitsPorts": ("1.5", "host_port_conflict"),
    "CheckNodeUnschedulable": ("1.8", "node_unschedulable"),
    "NodeUnschedulable": ("1.8", "node_unschedulable"),
    "NoVolumeZoneConflict": ("1.5", "volume_zone_conflict"),
    "NoVolumeNodeConflict": ("1.7", "volume_node_affinity_conflict"),
    "CheckVolumeBinding": ("1.8", "unbound_pvc"),
    "MaxEBSVolumeCount": ("1.5", "max_volume_count"),
    "MaxGCEPDVolumeCount": ("1.5", "max_volume_count"),
    "MaxAzureDiskVolumeCount": ("1.7", "max_volume_count"),
    "MaxCSIVolumeCountPred": ("1.11", "max_volume_count"),
    "MaxVolumeCount": ("1.5", "max_volume_count"),
    "MatchInterPodAffinity": ("1.5", "pod_affinity_mismatch"),
    "PodAffinityRulesNotMatch": ("1.8", "pod_affinity_mismatch"),
    "PodAntiAffinityRulesNotMatch": ("1.8", "pod_anti_affinity_mismatch"),
    "ExistingPodsAntiAffinityRulesNotMatch": ("1.8", "pod_anti_affinity_mismatch"),
    "EvenPodsSpread": ("1.16", "topology_spread_mismatch"),
    "CheckServiceAffinity": ("1.5", "service_affinity_mismatch"),
    "CheckNodeLabelPresence": ("1.5", "node_selector_or_affinity_mismatch"),
    "NoDiskConflict": ("1.5", "volume_disk_conflict"),
    "NodeNotReady": ("1.6", "node_not_ready_taint"),
    "CheckNodeCondition": ("1.8", "node_not_ready_taint"),
    "NodeUnknownCondition": ("1.6", "node_unreachable_taint"),
    "NodeUnderMemoryPressure": ("1.6", "untolerated_taint"),
    "CheckNodeMemoryPressure": ("1.5", "untolerated_taint"),
    "NodeUnderDiskPressure": ("1.6", "untolerated_taint"),
    "CheckNodeDiskPressure": ("1.5", "untolerated_taint"),
    "NodeUnderPIDPressure": ("1.8", "untolerated_taint"),
    "CheckNodePIDPressure": ("1.8", "untolerated_taint"),
    "NodeOutOfDisk": ("1.6", "untolerated_taint"),
    "NodeNetworkUnavailable": ("1.6", "untolerated_taint"),
    "PodExceedsFreeCPU": ("1.5", "insufficient_cpu"),
    "PodExceedsFreeMemory": ("1.5", "insufficient_memory"),
    "PodExceedsMaxPodNumber": ("1.5", "insufficient_pods"),
}
"""Old predicate names: the releases up to 1.6 printed them in the fit failure summary, 1.7-1.8 after
'predicates::', and a few (EvenPodsSpread, MaxCSIVolumeCountPred) lived on in later reasons."""


def _predicate_row(name: str, release: str, category: str) -> tuple[str, str, str, int | None, Pairs]:
    if release in ("1.5", "1.6"):
        message = f"pod (web-0) failed to fit in any node\nfit failure summary on nodes : {name} (2)"
        return (release, "fit-failure-summary", message, None, {(category, 2)})
    return (release, "predicates",
            f"No nodes are available that match all of the following predicates:: {name} (2).", None, {(category, 2)})


ALL_ROWS = ROWS + [_predicate_row(name, release, category) for name, (release, category) in OLD_PREDICATES.items()]
TABLE_CATEGORIES = {category for *_, pairs in ALL_ROWS for category, _ in pairs}


@pytest.mark.parametrize(("release", "shape", "message", "total", "pairs"),
                         [pytest.param(*row, id=f"{row[0]}-{index}") for index, row in enumerate(ALL_ROWS)])
def test_wording(release: str, shape: str, message: str, total: int | None, pairs: Pairs) -> None:
    parsed = parse(message)
    assert parsed.format == shape
    assert parsed.total_nodes == total
    assert {(r.category, r.nodes) for r in parsed.reasons} == pairs
    other = [r for r in parsed.reasons if r.category == "other"]
    assert parsed.unplaced == [r.phrase for r in other]  # what no table places keeps its raw text


def test_table_covers_every_format_and_old_predicate() -> None:
    assert {row[1] for row in ALL_ROWS} | {"0/N"} >= set(FORMATS)
    assert set(OLD_PREDICATES) >= set(PREDICATE_CATEGORIES), "every predicate name the parser knows has a row"


def test_other_is_the_exception() -> None:
    assert sum(1 for *_, pairs in ALL_ROWS for category, _ in pairs if category == "other") == 1
