"""Fixes for an unscheduled pod: ``uncordon_node`` when cordoning alone blocks a node, else copy-paste YAML.

Snippets belong in the workload's source (a toleration, requests that fit the closest node, a
nodeSelector that matches labels nodes really have, a StorageClass that exists), so they are
offered as text, never as a button. Tolerating ``node.kubernetes.io/not-ready`` or
``unreachable`` (or any node-condition taint) is never suggested: those point at the node layer;
nor is tolerating a control-plane taint (``node-role.kubernetes.io/control-plane``/``master``) or the
taint of a node being scaled down (``ToBeDeletedByClusterAutoscaler``, ``karpenter.sh/disruption``).
"""

from __future__ import annotations

from collections import Counter

from clusterdoc.report import Remediation, Target
from clusterdoc.workers.scheduling import categories as cat
from clusterdoc.workers.scheduling.analysis import Analysis
from clusterdoc.workers.scheduling.quantities import format_amount, safe_int, to_quantity_text
from clusterdoc.workers.scheduling.snapshot import ClusterState

MAX_UNCORDON = 3
NOT_TO_TOLERATE = (cat.NODE_LAYER_TAINT_KEYS | cat.CONTROL_PLANE_TAINT_KEYS | cat.LIFECYCLE_TAINT_KEYS
                   | {"node.kubernetes.io/unschedulable"})
"""Node-condition taints (a node problem), the cordon's own taint, control-plane taints and taints of nodes being
removed are never offered."""


def _indent(lines: list[str], workload: bool) -> str:
    if workload:
        return "\n".join(["spec:", "  template:", "    spec:"] + ["      " + line for line in lines])
    return "\n".join(["spec:"] + ["  " + line for line in lines])


def uncordon(analysis: Analysis) -> list[Remediation]:
    only_cordoned = [n.name for n in analysis.nodes if n.blockers and n.categories() == [cat.NODE_UNSCHEDULABLE]]
    return [
        Remediation(
            "uncordon_node", Target("Node", name), "low",
            f"Uncordon {name}: cordoning is the only thing keeping {analysis.pod.name} off it.",
            params={"node": name},
        )
        for name in only_cordoned[:MAX_UNCORDON]
    ]


def toleration(analysis: Analysis, owner: Target, workload: bool) -> list[Remediation]:
    taints: dict[str, tuple[str, str, str]] = {}
    helps: Counter[str] = Counter()
    for node in analysis.nodes:
        taint_blockers = [b for b in node.blockers if b.category == cat.UNTOLERATED_TAINT]
        if not taint_blockers or any(b.key in NOT_TO_TOLERATE for b in taint_blockers):
            continue
        if len(taint_blockers) != len(node.blockers):
            continue  # something else blocks this node too; a toleration alone would not do
        for blocker in taint_blockers:
            text = blocker.detail.removeprefix("taint ")
            key_value, _, effect = text.rpartition(":")
            key, _, value = key_value.partition("=")
            taints[text] = (key, value, effect)
            helps[text] += 1
    if not taints:
        return []
    lines = ["tolerations:"]
    for key, value, effect in taints.values():
        lines.append(f"- key: {key}")
        lines.append("  operator: Equal" if value else "  operator: Exists")
        if value:
            lines.append(f"  value: {value}")
        lines.append(f"  effect: {effect}")
    nodes = sum(1 for node in analysis.nodes if node.blockers and all(
        b.category == cat.UNTOLERATED_TAINT and b.detail.removeprefix("taint ") in taints for b in node.blockers))
    return [Remediation(
        "snippet", owner, "medium",
        f"Tolerate {', '.join(taints)} if {analysis.pod.name} is meant to run on those nodes "
        f"({nodes} node(s) would then accept it).",
        snippet=_indent(lines, workload),
    )]


def requests_for_closest(analysis: Analysis, state: ClusterState, owner: Target, workload: bool) -> list[Remediation]:
    """Requests that fit the closest node: a container snippet for a one-container pod, else the pod's target total.

    With init containers, sidecars, several containers, pod overhead or pod-level resources the
    effective request is not one container's, so no single line can be written for it.
    """
    closest = analysis.closest
    if closest is None or not closest.blockers or not all(
        b.resource in ("cpu", "memory", "ephemeral-storage") for b in closest.blockers
    ):
        return []
    node = state.by_name.get(closest.node)
    if node is None:
        return []
    spec = analysis.pod.obj.get("spec") or {}
    containers = spec.get("containers") or []
    overhead = spec.get("overhead") or {}
    simple = len(containers) == 1 and not spec.get("initContainers") and not spec.get("resources")
    lines = ["containers:", f"- name: {containers[0].get('name', 'app') if containers else 'app'}",
             "  resources:", "    requests:"]
    totals = []
    for blocker in closest.blockers:
        resource = blocker.resource or ""
        free = max(node.allocatable.get(resource, 0) - node.requested.get(resource, 0), 0)
        totals.append(f"{format_amount(resource, free)} {resource} "
                      f"(now {format_amount(resource, analysis.pod.requests.get(resource, 0))})")
        own = free - safe_int(resource, overhead.get(resource, 0))
        simple = simple and own > 0
        lines.append(f"      {resource}: {to_quantity_text(resource, max(own, 0))}")
    shortfall = ", ".join(f"{format_amount(b.resource or '', b.short)} {b.resource}" for b in closest.blockers)
    caveat = ("; only if the workload really runs within them. Otherwise add capacity or free room on a node.")
    if not simple:
        return [Remediation(
            "snippet", owner, "medium",
            f"Lower the pod's effective request to at most {', '.join(totals)} to fit {closest.node} ({shortfall} "
            "short now). It counts the app containers and sidecars, or the largest init container if bigger, plus "
            "the pod overhead: lower the container that drives it" + caveat,
        )]
    return [Remediation(
        "snippet", owner, "medium",
        f"Lower the requests to what {closest.node} has free ({shortfall} short now)" + caveat,
        snippet=_indent(lines, workload),
    )]


def node_selector(analysis: Analysis, state: ClusterState, owner: Target, workload: bool) -> list[Remediation]:
    pod = analysis.pod
    if not pod.node_selector or not all(
        cat.NODE_SELECTOR_OR_AFFINITY_MISMATCH in n.categories() for n in analysis.nodes if n.blockers
    ) or analysis.fitting:
        return []
    lines = ["nodeSelector:"]
    described = []
    for key, want in pod.node_selector.items():
        values = Counter(node.labels[key] for node in state.nodes if key in node.labels)
        if want in values:
            lines.append(f"  {key}: {want}")
            continue
        if not values:
            described.append(f"no node has a {key} label")
            lines.append(f"  # no node carries {key}; remove this key or label nodes")
            continue
        best, count = values.most_common(1)[0]
        described.append(f"no node has {key}={want}; {count} node(s) have {key}={best}")
        lines.append(f"  {key}: {best}")
    if not described:
        return []
    return [Remediation(
        "snippet", owner, "medium",
        "Use a nodeSelector that matches labels nodes really carry: " + "; ".join(described) + ".",
        snippet=_indent(lines, workload),
    )]


def storage(analysis: Analysis, state: ClusterState, owner: Target) -> list[Remediation]:
    details = {b.detail for n in analysis.nodes for b in n.blockers if b.category == cat.UNBOUND_PVC}
    missing_class = [d for d in details
                     if ("StorageClass " in d and "does not exist" in d) or "no storageClassName" in d]
    if not missing_class:
        return []
    classes = sorted(state.storage_classes)
    default = next((name for name, sc in state.storage_classes.items()
                    if ((sc.get("metadata") or {}).get("annotations") or {}).get(
                        "storageclass.kubernetes.io/is-default-class") == "true"), classes[0] if classes else "")
    pvc_names = sorted({d.split(":")[0].removeprefix("PVC ") for d in missing_class})
    if not default:
        return [Remediation("snippet", owner, "medium",
                            f"PVC {', '.join(pvc_names)} names no usable StorageClass and the cluster has none: "
                            "install a provisioner and a StorageClass, or create a matching PersistentVolume.")]
    snippet = "\n".join(["# PVC spec is immutable: delete and recreate the claim with", "spec:",
                         f"  storageClassName: {default}"])
    return [Remediation(
        "snippet", Target("PersistentVolumeClaim", pvc_names[0], analysis.pod.namespace), "medium",
        f"PVC {', '.join(pvc_names)} cannot bind: use an existing StorageClass ({', '.join(classes)}).",
        snippet=snippet,
    )]


def remediations(analysis: Analysis, state: ClusterState, owner: Target, workload: bool) -> list[Remediation]:
    """Every fix that applies, the approve-to-execute one first."""
    found = uncordon(analysis)
    found += toleration(analysis, owner, workload)
    found += node_selector(analysis, state, owner, workload)
    found += requests_for_closest(analysis, state, owner, workload)
    found += storage(analysis, state, owner)
    return found
