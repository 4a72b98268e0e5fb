"""The FailedScheduling parser against messages kube-scheduler printed from 1.16 to 1.35."""

from __future__ import annotations

import pytest

from clusterdoc.workers.scheduling.message import classify, parse

CASES = [
    pytest.param(
        "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {dedicated: gpu}. "
        "preemption: 0/5 nodes are available: 2 No preemption victims found for incoming pod, "
        "3 Preemption is not helpful for scheduling.",
        5,
        [("insufficient_cpu", 2, "Insufficient cpu"), ("untolerated_taint", 3, "taint dedicated=gpu")],
        id="1.28-cpu-and-taint",
    ),
    pytest.param(
        "0/3 nodes are available: 3 node(s) had taint {node.kubernetes.io/not-ready: }, that the pod didn't tolerate.",
        3,
        [("node_not_ready_taint", 3, "taint node.kubernetes.io/not-ready")],
        id="1.20-not-ready-old-taint-wording",
    ),
    pytest.param(
        "0/4 nodes are available: 4 node(s) had untolerated taint {node.kubernetes.io/unreachable: }. preemption: "
        "0/4 nodes are available: 4 Preemption is not helpful for scheduling..",
        4,
        [("node_unreachable_taint", 4, "taint node.kubernetes.io/unreachable")],
        id="1.26-double-dot",
    ),
    pytest.param(
        "0/6 nodes are available: 6 node(s) had untolerated taint(s). preemption: 0/6 nodes are available: "
        "6 Preemption is not helpful for scheduling.",
        6,
        [("untolerated_taint", 6, "untolerated taint (the message does not name it)")],
        id="1.35-taint-without-key",
    ),
    pytest.param(
        "0/3 nodes are available: 3 node(s) had taints that the pod didn't tolerate.",
        3,
        [("untolerated_taint", 3, "untolerated taint (the message does not name it)")],
        id="1.16-taints-no-key",
    ),
    pytest.param(
        "0/3 nodes are available: 1 node(s) didn't match node selector, 2 Insufficient memory.",
        3,
        [("node_selector_or_affinity_mismatch", 1, "node(s) didn't match node selector"),
         ("insufficient_memory", 2, "Insufficient memory")],
        id="1.17-node-selector",
    ),
    pytest.param(
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
        3,
        [("node_selector_or_affinity_mismatch", 3, "node(s) didn't match Pod's node affinity/selector")],
        id="1.22-affinity-selector",
    ),
    pytest.param(
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity.",
        3,
        [("node_selector_or_affinity_mismatch", 3, "node(s) didn't match Pod's node affinity")],
        id="1.19-affinity",
    ),
    pytest.param(
        "0/2 nodes are available: 2 Insufficient nvidia.com/gpu.",
        2,
        [("insufficient_extended_resource", 2, "Insufficient nvidia.com/gpu")],
        id="extended-resource",
    ),
    pytest.param(
        "0/2 nodes are available: 1 Too many pods, 1 node(s) were unschedulable.",
        2,
        [("insufficient_pods", 1, "Too many pods"), ("node_unschedulable", 1, "node is cordoned")],
        id="pods-and-cordon",
    ),
    pytest.param(
        "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are "
        "available: 3 Preemption is not helpful for scheduling.",
        3,
        [("unbound_pvc", 3, "pod has unbound immediate PersistentVolumeClaims")],
        id="prefilter-unbound-pvc",
    ),
    pytest.param(
        "0/3 nodes are available: 1 node(s) had volume node affinity conflict, 2 node(s) didn't find available "
        "persistent volumes to bind.",
        3,
        [("volume_node_affinity_conflict", 1, "node(s) had volume node affinity conflict"),
         ("unbound_pvc", 2, "node(s) didn't find available persistent volumes to bind")],
        id="volume-binding",
    ),
    pytest.param(
        "0/3 nodes are available: 3 node(s) didn't match PersistentVolume's node affinity.",
        3,
        [("volume_node_affinity_conflict", 3, "node(s) didn't match PersistentVolume's node affinity")],
        id="1.33-pv-affinity",
    ),
    pytest.param(
        "0/3 nodes are available: 3 node(s) had no available volume zone.",
        3, [("volume_zone_conflict", 3, "node(s) had no available volume zone")], id="volume-zone",
    ),
    pytest.param(
        "0/3 nodes are available: 3 node(s) exceed max volume count.",
        3, [("max_volume_count", 3, "node(s) exceed max volume count")], id="volume-limits",
    ),
    pytest.param(
        "0/3 nodes are available: 3 node(s) didn't have free ports for the requested pod ports.",
        3, [("host_port_conflict", 3, "node(s) didn't have free ports for the requested pod ports")], id="ports",
    ),
    pytest.param(
        "0/3 nodes are available: 1 node(s) didn't match pod affinity rules, 2 node(s) didn't match pod "
        "anti-affinity rules.",
        3,
        [("pod_affinity_mismatch", 1, "node(s) didn't match pod affinity rules"),
         ("pod_anti_affinity_mismatch", 2, "node(s) didn't match pod anti-affinity rules")],
        id="inter-pod",
    ),
    pytest.param(
        "0/3 nodes are available: 3 node(s) didn't match pod affinity/anti-affinity, 3 node(s) didn't satisfy "
        "existing pods anti-affinity rules.",
        3,
        [("pod_anti_affinity_mismatch", 3, "node(s) didn't satisfy existing pods anti-affinity rules")],
        id="1.18-generic-inter-pod-dropped",
    ),
    pytest.param(
        "0/4 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing required label), "
        "3 node(s) didn't match pod topology spread constraints.",
        4,
        [("topology_spread_mismatch", 1, "node(s) didn't match pod topology spread constraints "
          "(missing required label)"),
         ("topology_spread_mismatch", 3, "node(s) didn't match pod topology spread constraints")],
        id="topology-spread",
    ),
    pytest.param(
        "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) didn't satisfy "
        "plugin(s) [NodeAffinity].",
        3,
        [("node_selector_or_affinity_mismatch", 1, "node(s) didn't match Pod's node affinity/selector"),
         ("node_selector_or_affinity_mismatch", 2, "node(s) didn't satisfy plugin(s) [NodeAffinity]")],
        id="1.28-prefilter-result",
    ),
    pytest.param(
        "0/2 nodes are available: 2 node(s) didn't match the requested node name.",
        2, [("node_name_mismatch", 2, "node(s) didn't match the requested node name")], id="node-name",
    ),
    pytest.param(
        "0/3 nodes are available: 3 node(s) had disk pressure.",
        3, [("untolerated_taint", 3, "taint node.kubernetes.io/disk-pressure (node(s) had disk pressure)")],
        id="1.16-disk-pressure-predicate",
    ),
    pytest.param(
        "0/3 nodes are available: 2 node(s) were not ready, 1 MyPluginSaysNo.",
        3,
        [("node_not_ready_taint", 2, "taint node.kubernetes.io/not-ready (node(s) were not ready)"),
         ("other", 1, "MyPluginSaysNo")],
        id="unknown-phrase-is-other",
    ),
    pytest.param(
        "No nodes are available that match all of the following predicates:: Insufficient cpu (2), "
        "PodToleratesNodeTaints (1).",
        None,
        [("insufficient_cpu", 2, "Insufficient cpu"), ("untolerated_taint", 1, "PodToleratesNodeTaints")],
        id="pre-1.9-predicates",
    ),
    pytest.param(
        "0/1 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. "
        "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
        1,
        [("untolerated_taint", 1, "taint node-role.kubernetes.io/control-plane")],
        id="control-plane-taint",
    ),
]


@pytest.mark.parametrize(("message", "total", "reasons"), CASES)
def test_parse_reasons(message: str, total: int | None, reasons: list[tuple[str, int | None, str]]) -> None:
    parsed = parse(message)
    assert parsed.total_nodes == total
    assert [(r.category, r.nodes, r.detail) for r in parsed.reasons] == reasons


def test_extended_resource_names_the_resource() -> None:
    data = parse("0/2 nodes are available: 2 Insufficient nvidia.com/gpu.").to_json()
    assert data["reasons"] == [
        {"category": "insufficient_extended_resource", "nodes": 2, "detail": "Insufficient nvidia.com/gpu",
         "text": "Insufficient nvidia.com/gpu", "resource": "nvidia.com/gpu"}
    ]


@pytest.mark.parametrize(
    ("message", "may_help", "total"),
    [
        pytest.param("0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
                     "2 No preemption victims found for incoming pod.", False, 2, id="no-victims"),
        pytest.param("0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to "
                     "preemptionPolicy=Never.", False, None, id="policy-never"),
        # a filter reason in the preemption part: still unfit with every lower-priority pod evicted
        pytest.param("0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
                     "1 Insufficient cpu, 1 Preemption is not helpful for scheduling.", False, 2,
                     id="still-unfit-after-evicting"),
    ],
)
def test_preemption_part(message: str, may_help: bool, total: int | None) -> None:
    preemption = parse(message).preemption
    assert preemption is not None
    assert preemption.may_help is may_help
    assert preemption.total_nodes == total


def test_still_unfit_nodes_count_filter_reasons_only() -> None:
    preemption = parse("0/5 nodes are available: 5 Insufficient cpu. preemption: 0/5 nodes are available: "
                       "2 Insufficient cpu, 1 No preemption victims found for incoming pod, "
                       "2 Preemption is not helpful for scheduling.").preemption
    assert preemption is not None and preemption.still_unfit_nodes() == 2


def test_message_without_preemption_has_none() -> None:
    assert parse("0/3 nodes are available: 3 Insufficient cpu.").to_json()["preemption"] is None


@pytest.mark.parametrize(
    "garbage",
    [pytest.param("", id="empty"), pytest.param("binding rejected: timeout", id="binding"),
     pytest.param("0/x nodes are available: ???", id="broken-head"), pytest.param(None, id="none")],
)
def test_never_raises_and_keeps_text(garbage: str) -> None:
    parsed = parse(garbage)
    data = parsed.to_json()
    assert set(data) == {"total_nodes", "format", "reasons", "unplaced", "preemption"}
    if garbage:
        assert data["reasons"][0]["category"] == "other"
        assert garbage.split(":")[0] in data["reasons"][0]["detail"]
        assert data["unplaced"] == [garbage]  # the raw text of what no table places is kept


def test_no_nodes_in_cluster() -> None:
    assert parse("no nodes available to schedule pods").to_json() == {
        "total_nodes": 0, "format": "no-nodes", "reasons": [], "unplaced": [], "preemption": None}


def test_pvc_not_found_prefilter_error() -> None:
    assert classify('persistentvolumeclaim "data-web-0" not found')[0] == "missing_pvc"


def test_counts_sum_per_category() -> None:
    parsed = parse("0/4 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing "
                   "required label), 3 node(s) didn't match pod topology spread constraints.")
    assert parsed.counts() == {"topology_spread_mismatch": 4}


@pytest.mark.parametrize(
    ("message", "category"),
    [
        pytest.param("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. not found",
                     "unbound_pvc", id="unbound-immediate"),
        pytest.param('0/3 nodes are available: persistentvolumeclaim "uploads-data" not found. not found',
                     "missing_pvc", id="missing-claim"),
    ],
)
def test_prefilter_rejection_then_postfilter_text(message: str, category: str) -> None:
    """kube-scheduler 1.37 verbatim (from tests/test_real_why_pending.py): after a PreFilter rejection the
    PostFilter plugins still run and DRA's, which has no state then, appends its error ``not found``.
    A PreFilter rejection counts against all N nodes."""
    parsed = parse(message)
    assert [(r.category, r.nodes) for r in parsed.reasons] == [(category, 3)]
    assert parsed.preemption is not None and parsed.preemption.text == "not found"


def test_preemption_that_found_a_placement() -> None:
    """kube-scheduler 1.37 writes a successful preemption into the message too (verbatim, from the real one)."""
    preemption = parse("0/3 nodes are available: 3 Insufficient cpu. preemption: found a potential placement for pod "
                       "on node worker-2, preempting 1 victims").preemption
    assert preemption is not None
    assert (preemption.may_help, preemption.nominated_node) == (True, "worker-2")
    assert preemption.still_unfit_nodes() == 0


def test_read_write_once_pod_conflict_as_kube_scheduler_1_37_words_it() -> None:
    """Verbatim from the real kube-scheduler 1.37 in tests/test_real_why_pending.py."""
    parsed = parse("0/3 nodes are available: 3 node(s) unavailable due to PersistentVolumeClaim with ReadWriteOncePod "
                   "access mode already in-use by another pod. preemption: 0/3 nodes are available: 3 No preemption "
                   "victims found for incoming pod.")
    assert parsed.counts() == {"volume_rwop_conflict": 3}


def test_claim_bound_to_a_deleted_volume_as_kube_scheduler_1_37_words_it() -> None:
    """A PreFilter rejection (counted against all N nodes), verbatim from the real kube-scheduler 1.37."""
    parsed = parse('0/3 nodes are available: persistentvolumeclaim "data-gitea-0" bound to non-existent '
                   'persistentvolume "pvc-1a2b3c4d". not found')
    assert [(r.category, r.nodes) for r in parsed.reasons] == [("pv_missing", 3)]
