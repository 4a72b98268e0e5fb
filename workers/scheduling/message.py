"""Parses kube-scheduler's ``FailedScheduling`` message into categories, counts and the preemption part.

The scheduler builds the message in ``FitError.Error`` (``pkg/scheduler/framework/types.go``):
``0/N nodes are available: `` + an optional PreFilter message + the sorted ``<count> <reason>``
list joined by ``, `` + ``.``, then the PostFilter (preemption) message. Older formats
(``FORMATS``): 1.7-1.8 ``No nodes are available that match all of the following predicates::
<reason> (<count>), ...``; 1.5-1.6 ``pod (<name>) failed to fit in any node`` + newline +
``fit failure summary on nodes : <reason> (<count>), ...``; 1.2-1.4 one ``fit failure on node
(<node>): <reason>`` line per node. Messages that are not per-node counts are recognised too: a
PreFilter rejection (with or without the ``0/N nodes are available:`` prefix, ``running
"VolumeBinding" filter plugin ...``), a missing PVC, a node missing from the scheduler's cache, a
pod being deleted. A PreFilter rejection behind ``0/N`` counts against all N nodes (the scheduler
rejected every node at once). Every reason phrase kube-scheduler has printed from 1.5 to 1.35 is
in ``PHRASES`` or ``PREDICATE_CATEGORIES`` with the file it comes from; a phrase no table knows (a
custom plugin, an extender, a future version) becomes category ``other`` and keeps its raw text
(``Reason.text``; ``ParsedMessage.unplaced``). :func:`parse` never raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clusterdoc.workers.scheduling import categories as cat

Classifier = Callable[[re.Match[str]], tuple[str, str, str | None]]


@dataclass(frozen=True)
class Reason:
    """One ``<count> <phrase>`` of the message; ``nodes`` is None for a PreFilter message (no count)."""

    category: str
    nodes: int | None
    detail: str
    resource: str | None = None
    phrase: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"category": self.category, "nodes": self.nodes, "detail": self.detail,
                                "text": self.phrase}
        if self.resource:
            data["resource"] = self.resource
        return data


@dataclass(frozen=True)
class Preemption:
    """The ``preemption:`` part: why evicting lower-priority pods made no room at the scheduler's last attempt.

    Up to 1.36 the part is only written when the PostFilter (DefaultPreemption) nominated no
    node, and a successful preemption only sets the pod's ``status.nominatedNodeName``. Since
    1.37 a success is written too, ``found a potential placement for pod on node N, preempting K
    victims`` (``framework/preemption/preemption.go``): then ``may_help`` is true and
    ``nominated_node`` names N. Per node, ``No preemption victims
    found`` means nothing lower-priority runs there, ``Preemption is not helpful`` that the filter's
    reason cannot be fixed by evicting pods, and a filter reason (``Insufficient cpu``) that the
    pod would still not fit with every lower-priority pod gone
    (``defaultpreemption/default_preemption.go``, ``SelectVictimsOnNode``).
    """

    text: str
    total_nodes: int | None
    reasons: tuple[tuple[int | None, str], ...]
    may_help: bool
    nominated_node: str | None = None

    def still_unfit_nodes(self) -> int:
        """Nodes where the pod would not fit even with every lower-priority pod evicted."""
        return sum(count or 0 for count, text in self.reasons
                   if not any(marker in text.lower() for marker in _PREEMPTION_NOT_HELPFUL))

    def to_json(self) -> dict[str, Any]:
        return {
            "total_nodes": self.total_nodes,
            "reasons": [{"nodes": nodes, "text": text} for nodes, text in self.reasons],
            "may_help": self.may_help,
            "nominated_node": self.nominated_node,
            "text": self.text,
        }


@dataclass(frozen=True)
class ParsedMessage:
    """The whole message: node total, reasons, preemption part, and the raw text."""

    total_nodes: int | None
    reasons: tuple[Reason, ...] = ()
    preemption: Preemption | None = None
    raw: str = ""
    recognised: bool = field(default=True)
    """False when the text had none of the scheduler's shapes (``FORMATS``): kept whole as one reason."""
    format: str = "0/N"
    """Which of ``FORMATS`` the message has."""

    @property
    def unplaced(self) -> list[str]:
        """The raw text of every reason no table places (category ``other``)."""
        return [reason.phrase or reason.detail for reason in self.reasons if reason.category == cat.OTHER]

    def to_json(self) -> dict[str, Any]:
        return {
            "total_nodes": self.total_nodes,
            "format": self.format,
            "reasons": [reason.to_json() for reason in self.reasons],
            "unplaced": self.unplaced,
            "preemption": self.preemption.to_json() if self.preemption else None,
        }

    def counts(self) -> dict[str, int]:
        """Nodes per category as the scheduler counted them (reasons without a count are skipped)."""
        totals: dict[str, int] = {}
        for reason in self.reasons:
            if reason.nodes is not None:
                totals[reason.category] = totals.get(reason.category, 0) + reason.nodes
        return totals

    def categories(self) -> set[str]:
        return {reason.category for reason in self.reasons}


# -- reason phrases ----------------------------------------------------------------------------


def _fixed(category: str, detail: str = "") -> Classifier:
    return lambda match: (category, detail or match.group(0), None)


def _taint(match: re.Match[str]) -> tuple[str, str, str | None]:
    key, value = match.group("key").strip(), (match.group("value") or "").strip()
    detail = f"taint {key}={value}" if value else f"taint {key}"
    return cat.taint_category(key), detail, None


def _insufficient(match: re.Match[str]) -> tuple[str, str, str | None]:
    resource = match.group("resource").strip()
    if resource in ("CPU", "Memory"):  # 1.2-1.4 ErrInsufficientFreeCPU/Memory
        resource = resource.lower()
    category = cat.resource_category(resource)
    if category == cat.INSUFFICIENT_EXTENDED_RESOURCE:
        return category, f"Insufficient {resource}", resource
    return category, f"Insufficient {resource}", None


def _plugins(match: re.Match[str]) -> tuple[str, str, str | None]:
    names = [name.strip() for name in re.split(r"[\s,]+", match.group("plugins")) if name.strip()]
    category = next((PLUGIN_CATEGORIES[name] for name in names if name in PLUGIN_CATEGORIES), cat.OTHER)
    return category, match.group(0), None


def _condition_taint(key: str) -> Classifier:
    return lambda match: (cat.taint_category(key), f"taint {key} ({match.group(0)})", None)


PLUGIN_CATEGORIES: dict[str, str] = {
    "NodeUnschedulable": cat.NODE_UNSCHEDULABLE,
    "NodeName": cat.NODE_NAME_MISMATCH,
    "TaintToleration": cat.UNTOLERATED_TAINT,
    "NodeAffinity": cat.NODE_SELECTOR_OR_AFFINITY_MISMATCH,
    "NodePorts": cat.HOST_PORT_CONFLICT,
    "VolumeBinding": cat.UNBOUND_PVC,
    "VolumeZone": cat.VOLUME_ZONE_CONFLICT,
    "NodeVolumeLimits": cat.MAX_VOLUME_COUNT,
    "InterPodAffinity": cat.POD_AFFINITY_MISMATCH,
    "PodTopologySpread": cat.TOPOLOGY_SPREAD_MISMATCH,
    "VolumeRestrictions": cat.VOLUME_DISK_CONFLICT,
    "DynamicResources": cat.DRA_CANNOT_ALLOCATE,
}
"""Plugin names in ``node(s) didn't satisfy plugin(s) [NodeAffinity]`` (nodes a PreFilter result excluded)."""

PREDICATE_CATEGORIES: dict[str, str] = {
    "PodToleratesNodeTaints": cat.UNTOLERATED_TAINT,
    "PodToleratesNodeNoExecuteTaints": cat.UNTOLERATED_TAINT,
    "MatchNodeSelector": cat.NODE_SELECTOR_OR_AFFINITY_MISMATCH,
    "HostName": cat.NODE_NAME_MISMATCH,
    "PodFitsHost": cat.NODE_NAME_MISMATCH,
    "PodFitsHostPorts": cat.HOST_PORT_CONFLICT,
    "PodFitsPorts": cat.HOST_PORT_CONFLICT,
    "CheckNodeUnschedulable": cat.NODE_UNSCHEDULABLE,
    "NoVolumeZoneConflict": cat.VOLUME_ZONE_CONFLICT,
    "NoVolumeNodeConflict": cat.VOLUME_NODE_AFFINITY_CONFLICT,
    "CheckVolumeBinding": cat.UNBOUND_PVC,
    "MaxEBSVolumeCount": cat.MAX_VOLUME_COUNT,
    "MaxGCEPDVolumeCount": cat.MAX_VOLUME_COUNT,
    "MaxAzureDiskVolumeCount": cat.MAX_VOLUME_COUNT,
    "MaxCSIVolumeCountPred": cat.MAX_VOLUME_COUNT,
    "MatchInterPodAffinity": cat.POD_AFFINITY_MISMATCH,
    "EvenPodsSpread": cat.TOPOLOGY_SPREAD_MISMATCH,
    # 1.5-1.8 predicates/error.go: the failure reasons were the predicate names
    "NodeUnschedulable": cat.NODE_UNSCHEDULABLE,
    "PodAffinityRulesNotMatch": cat.POD_AFFINITY_MISMATCH,
    "PodAntiAffinityRulesNotMatch": cat.POD_ANTI_AFFINITY_MISMATCH,
    "ExistingPodsAntiAffinityRulesNotMatch": cat.POD_ANTI_AFFINITY_MISMATCH,
    "CheckServiceAffinity": cat.SERVICE_AFFINITY_MISMATCH,
    "CheckNodeLabelPresence": cat.NODE_SELECTOR_OR_AFFINITY_MISMATCH,
    "NoDiskConflict": cat.VOLUME_DISK_CONFLICT,
    "MaxVolumeCount": cat.MAX_VOLUME_COUNT,
    "NodeNotReady": cat.NODE_NOT_READY_TAINT,
    "CheckNodeCondition": cat.NODE_NOT_READY_TAINT,
    "NodeUnknownCondition": cat.NODE_UNREACHABLE_TAINT,
    "NodeUnderMemoryPressure": cat.UNTOLERATED_TAINT,
    "CheckNodeMemoryPressure": cat.UNTOLERATED_TAINT,
    "NodeUnderDiskPressure": cat.UNTOLERATED_TAINT,
    "CheckNodeDiskPressure": cat.UNTOLERATED_TAINT,
    "NodeUnderPIDPressure": cat.UNTOLERATED_TAINT,
    "CheckNodePIDPressure": cat.UNTOLERATED_TAINT,
    "NodeOutOfDisk": cat.UNTOLERATED_TAINT,
    "NodeNetworkUnavailable": cat.UNTOLERATED_TAINT,
    "PodExceedsFreeCPU": cat.INSUFFICIENT_CPU,
    "PodExceedsFreeMemory": cat.INSUFFICIENT_MEMORY,
    "PodExceedsMaxPodNumber": cat.INSUFFICIENT_PODS,
}
"""Predicate names, which schedulers before 1.9 printed instead of phrases (and 1.9-1.15 for a few)."""

GENERIC_INTER_POD = "node(s) didn't match pod affinity/anti-affinity"
"""Old InterPodAffinity (≤1.19, predicates/error.go ErrPodAffinityNotMatch) printed this beside the specific reason."""

# (pattern, classifier); first match wins. Sources are paths under pkg/scheduler/framework/plugins/
# (or pkg/scheduler/algorithm/predicates/error.go for the 1.16-1.18 predicate era).
PHRASES: tuple[tuple[re.Pattern[str], Classifier], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), classify)
    for pattern, classify in (
        # nodeunschedulable/node_unschedulable.go ErrReasonUnschedulable (all versions)
        (r"^node\(s\) were unschedulable$", _fixed(cat.NODE_UNSCHEDULABLE, "node is cordoned")),
        # nodename/node_name.go ErrReason; predicates ErrPodNotMatchHostName (≤1.18: "hostname")
        (r"^node\(s\) didn't match the requested (?:node ?name|hostname)$", _fixed(cat.NODE_NAME_MISMATCH)),
        # tainttoleration/taint_toleration.go: 1.18-1.24 "had taint {k: v}, that the pod didn't tolerate",
        # 1.25-1.34 "had untolerated taint {k: v}"
        (r"^node\(s\) had (?:untolerated )?taint \{(?P<key>[^:}]*):?(?P<value>[^}]*)\}"
         r"(?:, that the pod didn't tolerate)?$", _taint),
        # 1.35 (backported to 1.34.x) dropped the key: "had untolerated taint(s)"; ≤1.17 ErrReasonNotMatch
        (r"^node\(s\) had (?:untolerated taint\(s\)|taints that the pod didn't tolerate)$",
         _fixed(cat.UNTOLERATED_TAINT, "untolerated taint (the message does not name it)")),
        # nodeaffinity/node_affinity.go: ErrReasonPod, errReasonEnforced, errReasonConflict;
        # predicates ErrNodeSelectorNotMatch "didn't match node selector" (≤1.18)
        (r"^node\(s\) didn't match "
         r"(?:node selector|pod's node affinity(?:/selector)?|scheduler-enforced node affinity)$",
         _fixed(cat.NODE_SELECTOR_OR_AFFINITY_MISMATCH)),
        (r"^pod affinity terms conflict$", _fixed(cat.NODE_SELECTOR_OR_AFFINITY_MISMATCH)),
        # nodeports/node_ports.go ErrReason
        (r"^node\(s\) didn't have free ports for the requested pod ports$", _fixed(cat.HOST_PORT_CONFLICT)),
        # noderesources/fit.go: "Insufficient %v" and "Too many pods"
        (r"^too many pods$", lambda m: (cat.INSUFFICIENT_PODS, "Too many pods", None)),
        (r"^insufficient (?P<resource>\S+)$", _insufficient),
        # volumebinding/binder.go ErrReasonBindConflict / ErrReasonNodeConflict (renamed text in 1.33+),
        # ErrReasonNotEnoughSpace, ErrReasonPVNotExist; volume_binding.go ErrUnboundImmediatePVC (PreFilter)
        (r"^node\(s\) didn't find available persistent volumes to bind$", _fixed(cat.UNBOUND_PVC)),
        (r"^node\(s\) (?:had volume node affinity conflict|didn't match persistentvolume's node affinity)$",
         _fixed(cat.VOLUME_NODE_AFFINITY_CONFLICT)),
        (r"^node\(s\) did not have enough free storage$", _fixed(cat.INSUFFICIENT_STORAGE_CAPACITY)),
        (r"^node\(s\) unavailable due to one or more pvc\(s\) bound to non-existent pv\(s\)$", _fixed(cat.PV_MISSING)),
        (r"^pod has unbound immediate persistentvolumeclaims$", _fixed(cat.UNBOUND_PVC)),
        (r"^persistentvolumeclaim \"?[^\"]*\"? (?:not found|is being deleted)$", _fixed(cat.MISSING_PVC)),
        # a PVC holds the name a generic ephemeral volume needs but another pod owns it (ephemeral.VolumeIsForPod)
        (r"^pvc [^ ]+ was not created for pod [^ ]+ \(pod is not owner\)$", _fixed(cat.MISSING_PVC)),
        # a generic ephemeral volume's PVC not created yet (VolumeBinding PreFilter, 1.23+)
        (r"^waiting for ephemeral volume controller to create the persistentvolumeclaim \"?[^\"]*\"?$",
         _fixed(cat.MISSING_PVC)),
        (r"^persistentvolumeclaim \"?[^\"]*\"? has not been bound$", _fixed(cat.UNBOUND_PVC)),
        # VolumeBinding PreFilter, kube-scheduler 1.37 verbatim (the real scheduler in tests/test_real_why_pending.py)
        (r"^persistentvolumeclaim \"?[^\"]*\"? bound to non-existent persistentvolume \"?[^\"]*\"?$",
         _fixed(cat.PV_MISSING)),
        # 1.16-1.18 VolumeBinding PreFilter errors: error getting PVC "ns/x": could not find v1.PersistentVolumeClaim
        (r"^error getting pvc \"[^\"]*\": could not find v1\.persistentvolumeclaim \"[^\"]*\"$",
         _fixed(cat.MISSING_PVC)),
        # volumerestrictions/volume_restrictions.go ErrReasonDiskConflict, ErrReasonReadWriteOncePodConflict
        (r"^node\(s\) had no available disk$", _fixed(cat.VOLUME_DISK_CONFLICT)),
        (r"^node has pod using persistentvolumeclaim with the same name and readwriteoncepod access mode$",
         _fixed(cat.VOLUME_RWOP_CONFLICT)),
        # the same reason as kube-scheduler 1.37 words it (written by the real scheduler in
        # tests/test_real_why_pending.py)
        (r"^node\(s\) unavailable due to persistentvolumeclaim with readwriteoncepod access mode already in-use "
         r"by another pod$", _fixed(cat.VOLUME_RWOP_CONFLICT)),
        # dynamicresources/dynamicresources.go (1.26-1.35): PreFilter and Filter statuses
        (r"^cannot allocate all claims$", _fixed(cat.DRA_CANNOT_ALLOCATE)),
        (r"^timed out trying to allocate devices$", _fixed(cat.DRA_CANNOT_ALLOCATE)),
        (r"^resourceclaim cannot be allocated for the node \(unsuitable\)$", _fixed(cat.DRA_CANNOT_ALLOCATE)),
        (r"^resourceclaim not available on the node$", _fixed(cat.RESOURCE_CLAIM_NODE_MISMATCH)),
        (r"^resourceclaim in use$", _fixed(cat.RESOURCE_CLAIM_IN_USE)),
        (r"^(?:pod \"[^\"]*\": )?resourceclaim not created yet$", _fixed(cat.RESOURCE_CLAIM_MISSING)),
        (r"^resourceclaim(?:\.resource\.k8s\.io)? \"[^\"]*\" (?:not found|is being deleted)$",
         _fixed(cat.RESOURCE_CLAIM_MISSING)),
        (r"^resource claim \S+ is in the process of being allocated$", _fixed(cat.RESOURCE_CLAIM_MISSING)),
        (r"^waiting for (?:dynamic )?resource (?:driver|controller) to (?:create the resourceclaim|allocate resource)$",
         _fixed(cat.RESOURCE_CLAIM_MISSING)),
        (r"^(?:request \S+: )?device ?class \S+ does not exist$", _fixed(cat.DEVICE_CLASS_MISSING)),
        # 1.9-1.24 ServiceAffinity / NodeLabel predicates (removed in 1.25)
        (r"^node\(s\) didn't match service affinity$", _fixed(cat.SERVICE_AFFINITY_MISMATCH)),
        (r"^node\(s\) didn't have the requested labels$", _fixed(cat.NODE_SELECTOR_OR_AFFINITY_MISMATCH)),
        # scheduler cache and deleting pods (scheduler.go / schedule_one.go)
        (r"^node ['\"][^'\"]*['\"] (?:is not in cache|not found)$", _fixed(cat.NODE_NOT_IN_CACHE)),
        (r"^nodeinfo not found for node name \S+$", _fixed(cat.NODE_NOT_IN_CACHE)),
        (r"^skip schedule deleting pod: \S+$", _fixed(cat.POD_BEING_DELETED)),
        (r"^storageclass(?:\.storage\.k8s\.io)? \"?[^\"]*\"? not found$", _fixed(cat.UNBOUND_PVC)),
        # volumezone/volume_zone.go ErrReasonConflict
        (r"^node\(s\) had no available volume zone$", _fixed(cat.VOLUME_ZONE_CONFLICT)),
        # nodevolumelimits/{csi,non_csi}.go ErrReasonMaxVolumeCountExceeded
        (r"^node\(s\) exceed max volume count$", _fixed(cat.MAX_VOLUME_COUNT)),
        # interpodaffinity/filtering.go ErrReasonAffinityRulesNotMatch, ErrReasonAntiAffinityRulesNotMatch,
        # ErrReasonExistingAntiAffinityRulesNotMatch; older ErrReasonAffinityNotMatch (generic)
        (r"^node\(s\) didn't match pod affinity rules$", _fixed(cat.POD_AFFINITY_MISMATCH)),
        (r"^node\(s\) didn't match pod anti-affinity rules$", _fixed(cat.POD_ANTI_AFFINITY_MISMATCH)),
        (r"^node\(s\) didn't satisfy existing pods anti-affinity rules$",
         _fixed(cat.POD_ANTI_AFFINITY_MISMATCH, "node(s) didn't satisfy existing pods anti-affinity rules")),
        (r"^node\(s\) didn't match pod affinity/anti-affinity(?: rules)?$", _fixed(cat.POD_AFFINITY_MISMATCH)),
        # podtopologyspread/filtering.go ErrReasonConstraintsNotMatch, ErrReasonNodeLabelNotMatch
        (r"^node\(s\) didn't match pod topology spread constraints(?: \(missing required label\))?$",
         _fixed(cat.TOPOLOGY_SPREAD_MISMATCH)),
        # framework/runtime: nodes a PreFilter result excluded (1.27+)
        (r"^node\(s\) didn't satisfy plugins?\(?s?\)? \[(?P<plugins>[^\]]*)\]$", _plugins),
        # 1.16-1.17 CheckNodeCondition / pressure predicates (predicates/error.go), now taints
        (r"^node\(s\) were not ready$", _condition_taint("node.kubernetes.io/not-ready")),
        (r"^node\(s\) had unknown conditions$", _condition_taint("node.kubernetes.io/unreachable")),
        (r"^node\(s\) had memory pressure$", _condition_taint("node.kubernetes.io/memory-pressure")),
        (r"^node\(s\) had disk pressure$", _condition_taint("node.kubernetes.io/disk-pressure")),
        (r"^node\(s\) had pid pressure$", _condition_taint("node.kubernetes.io/pid-pressure")),
        (r"^node\(s\) had network unavailable$", _condition_taint("node.kubernetes.io/network-unavailable")),
        (r"^node\(s\) were out of disk space$", _condition_taint("node.kubernetes.io/out-of-disk")),
        # ≤1.8 "Insufficient pods" is handled by the Insufficient pattern (resource "pods")
    )
)

_PREEMPTION_NOT_HELPFUL = (
    "preemption is not helpful for scheduling",
    "no preemption victims found for incoming pod",
    "not eligible due to",
)

_HEAD = re.compile(r"^\s*0/(?P<total>\d+) nodes are available:?(?P<body>.*)$", re.IGNORECASE | re.DOTALL)
_OLD_HEAD = re.compile(
    r"^\s*no nodes are available that match all of the (?:following )?predicates:*(?P<body>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_NO_NODES = re.compile(r"^\s*no nodes available to schedule pods\.?\s*$", re.IGNORECASE)
_ITEM_SPLIT = re.compile(r",\s+(?=\d+\s)")
_OLD_ITEM_SPLIT = re.compile(r"(?<=\))\s*,\s*")
_COUNTED = re.compile(r"^(?P<count>\d+)\s+(?P<phrase>.+)$", re.DOTALL)
_OLD_COUNTED = re.compile(r"^(?P<phrase>.+?)\s*\((?P<count>\d+)\)$", re.DOTALL)
_SENTENCE_SPLIT = re.compile(r"\.\s+(?=\S)")


_PLUGIN_ERROR = re.compile(
    r'^(?:binding rejected: )?(?:error while )?running (?:(?:prefilter|filter|reserve|prebind|bind|permit) )?'
    r'(?:plugin )?"(?P<plugin>[^"]+)"(?: (?:pre)?filter plugin| plugin)?(?: for pod "[^"]*")?: (?P<rest>.+)$',
    re.IGNORECASE | re.DOTALL,
)
"""A plugin's error as the framework wraps it: 1.16-1.18 ``running "VolumeBinding" filter plugin for pod "x": ...``,
1.19+ ``running PreFilter plugin "VolumeBinding": ...``, and ``binding rejected: running Bind plugin ...``."""


def classify(phrase: str) -> tuple[str, str, str | None]:
    """``(category, detail, resource)`` for one reason phrase; ``other`` with the text when unknown.

    A plugin error is classified by what it wraps, else by the plugin (``scheduler_error`` for one
    no table knows).
    """
    text = " ".join(phrase.split()).strip().rstrip(".")
    for pattern, classifier in PHRASES:
        match = pattern.match(text)
        if match:
            return classifier(match)
    if text in PREDICATE_CATEGORIES:
        return PREDICATE_CATEGORIES[text], text, None
    wrapped = _PLUGIN_ERROR.match(text)
    if wrapped:
        category, _, resource = classify(wrapped.group("rest"))
        if category == cat.OTHER:
            category = PLUGIN_CATEGORIES.get(wrapped.group("plugin"), cat.SCHEDULER_ERROR)
        return category, text, resource
    return cat.OTHER, text, None


def _reason(phrase: str, nodes: int | None) -> Reason:
    category, detail, resource = classify(phrase)
    return Reason(category, nodes, detail, resource, " ".join(phrase.split()).rstrip("."))


def _split_preemption(text: str) -> tuple[str, str | None]:
    match = re.search(r"(?:^|[\s.])preemption:\s*", text, re.IGNORECASE)
    if not match:
        return text, None
    return text[: match.start()], text[match.end():]


_PREEMPTION_FOUND = re.compile(r"^found a potential placement for pod on node (?P<node>\S+), preempting "
                               r"(?P<victims>\d+) victims?", re.IGNORECASE)


def _parse_preemption(text: str) -> Preemption:
    clean = " ".join(text.split()).strip()
    found = _PREEMPTION_FOUND.match(clean)
    if found:
        return Preemption(clean.rstrip("."), None, ((None, clean.rstrip(".")),), may_help=True,
                          nominated_node=found.group("node").rstrip(","))
    head = _HEAD.match(clean)
    reasons: list[tuple[int | None, str]] = []
    total: int | None = None
    body = clean
    if head:
        total = int(head.group("total"))
        body = head.group("body")
    for sentence in _sentences(body):
        for item in _ITEM_SPLIT.split(sentence):
            counted = _COUNTED.match(item.strip())
            if counted:
                reasons.append((int(counted.group("count")), counted.group("phrase").strip().rstrip(".")))
            elif item.strip():
                reasons.append((None, item.strip().rstrip(".")))
    return Preemption(clean.rstrip("."), total, tuple(reasons), may_help=False)


def _sentences(body: str) -> list[str]:
    body = body.strip().rstrip(".").strip()
    if not body:
        return []
    return [part.strip() for part in _SENTENCE_SPLIT.split(body) if part.strip()]


def _merge_generic_inter_pod(reasons: list[Reason]) -> list[Reason]:
    """Drop the old generic inter-pod phrase when the specific one (same nodes) is also present."""
    specific = {cat.POD_AFFINITY_MISMATCH, cat.POD_ANTI_AFFINITY_MISMATCH}
    has_specific = any(r.category in specific and r.phrase.lower() != GENERIC_INTER_POD for r in reasons)
    if not has_specific:
        return reasons
    return [r for r in reasons if r.phrase.lower() != GENERIC_INTER_POD]


def _parse_body(body: str, old_style: bool) -> tuple[list[Reason], str]:
    """Reasons, and the PostFilter text: sentences without counts after the counted list.

    kube-scheduler writes ``<PreFilterMsg>. <FilterMsg>. <PostFilterMsg>`` (``FitError.Error``)
    and, when a PreFilter rejected the pod, no counted list at all: then every sentence after the
    PreFilter one is PostFilter text (1.37 prints e.g. ``pod has unbound immediate
    PersistentVolumeClaims. not found``, the ``not found`` being DRA's PostFilter error).
    """
    reasons: list[Reason] = []
    post: list[str] = []
    for sentence in _sentences(body):
        if reasons and not (_OLD_COUNTED if old_style else _COUNTED).match(sentence.strip()):
            post.append(sentence.strip().rstrip(",").strip())
            continue
        items = _OLD_ITEM_SPLIT.split(sentence) if old_style else _ITEM_SPLIT.split(sentence)
        for item in items:
            item = item.strip().strip(",").strip()
            if not item:
                continue
            counted = (_OLD_COUNTED if old_style else _COUNTED).match(item)
            if counted:
                reasons.append(_reason(counted.group("phrase"), int(counted.group("count"))))
            else:
                reasons.append(_reason(item, None))
    return _merge_generic_inter_pod(reasons), ". ".join(post)


def _with_postfilter(post: str, preemption: Preemption | None) -> Preemption:
    if preemption is None:
        return Preemption(post, None, ((None, post),), may_help=False)
    return Preemption(f"{post}, preemption: {preemption.text}", preemption.total_nodes,
                      ((None, post), *preemption.reasons), preemption.may_help)


def parse(message: str) -> ParsedMessage:
    """Parse a ``FailedScheduling`` message (or ``PodScheduled`` condition message); never raises."""
    try:
        return _parse(message)
    except Exception:  # a parser must not take a diagnosis down; keep the text
        text = str(message or "").strip()
        return ParsedMessage(None, (Reason(cat.OTHER, None, text, None, text),) if text else (), None, text, False,
                             "unrecognised")


_FIT_FAILURE = re.compile(r"^\s*pod \((?P<pod>[^)]*)\) failed to fit in any node\s*(?P<body>.*)$",
                          re.IGNORECASE | re.DOTALL)
_FIT_SUMMARY = re.compile(r"^[-\s]*fit failure summary on nodes\s*:\s*(?P<items>.*)$", re.IGNORECASE | re.DOTALL)
_FIT_PER_NODE = re.compile(r"fit failure on node \((?P<node>[^)]*)\):\s*(?P<reason>[^\n]+)", re.IGNORECASE)

FORMATS = {
    "0/N": "1.9+: 0/N nodes are available: <count> <reason>, ... [PreFilter message] [preemption: ...]",
    "predicates": "1.7-1.8: No nodes are available that match all of the following predicates:: <reason> (<count>)",
    "fit-failure-summary": "1.5-1.6: pod (<name>) failed to fit in any node / fit failure summary on nodes : ...",
    "fit-failure-per-node": "1.2-1.4: pod (<name>) failed to fit in any node / fit failure on node (<node>): ...",
    "fit-failure-bare": "1.3-1.4: pod (<name>) failed to fit in any node, with no detail at all",
    "no-nodes": "no nodes available to schedule pods (the cluster has no nodes)",
    "single-reason": "a PreFilter/plugin error or another non-count message without the 0/N prefix",
    "unrecognised": "none of the above: kept whole as one 'other' reason",
}
"""The message shapes :func:`parse` recognises, by the releases that printed them."""


def _old_summary(body: str) -> tuple[list[Reason], str | None]:
    """1.5-1.6 ``fit failure summary on nodes : Insufficient cpu (2), PodToleratesNodeTaints (1)``,
    or 1.2-1.4 per-node lines; the total is the number of nodes the lines name (None for a summary)."""
    summary = _FIT_SUMMARY.match(body.strip())
    if summary:
        reasons, _ = _parse_body(summary.group("items"), old_style=True)
        return reasons, "fit-failure-summary"
    per_node = _FIT_PER_NODE.findall(body)
    if per_node:
        counts: dict[str, int] = {}
        for _, reason in per_node:
            phrase = reason.strip().rstrip(".")
            counts[phrase] = counts.get(phrase, 0) + 1
        return [_reason(phrase, count) for phrase, count in counts.items()], "fit-failure-per-node"
    return [], None


def _parse(message: str) -> ParsedMessage:
    text = str(message or "").strip()
    if not text:
        return ParsedMessage(None, (), None, "", False, "unrecognised")
    if _NO_NODES.match(text):
        return ParsedMessage(0, (), None, text, True, "no-nodes")
    fit_failure = _FIT_FAILURE.match(text)
    if fit_failure:
        reasons, shape = _old_summary(fit_failure.group("body"))
        nodes = {node for node, _ in _FIT_PER_NODE.findall(fit_failure.group("body"))}
        total = len(nodes) if shape == "fit-failure-per-node" else None
        return ParsedMessage(total, tuple(reasons), None, text, True, shape or "fit-failure-bare")
    head_text, preemption_text = _split_preemption(text)
    preemption = _parse_preemption(preemption_text) if preemption_text is not None else None
    head = _HEAD.match(head_text)
    old = None if head else _OLD_HEAD.match(head_text)
    if head or old:
        reasons, post = _parse_body((head or old).group("body"), old_style=head is None)  # type: ignore[union-attr]
        if post:  # a PostFilter message (e.g. DRA's "no new claims to deallocate") before the preemption part
            preemption = _with_postfilter(post, preemption)
        total = int(head.group("total")) if head else None
        if total is not None:  # a PreFilter rejection is every node's reason at once
            reasons = [Reason(r.category, total, r.detail, r.resource, r.phrase) if r.nodes is None else r
                       for r in reasons]
        return ParsedMessage(total, tuple(reasons), preemption, text, True, "0/N" if head else "predicates")
    # Not the FitError shape: a PreFilter/plugin error or another scheduler's text, kept as one reason.
    phrase = head_text.strip()
    reasons = [_reason(phrase, None)] if phrase else []
    known = bool(reasons) and reasons[0].category != cat.OTHER
    return ParsedMessage(None, tuple(reasons), preemption, text, known, "single-reason" if known else "unrecognised")
