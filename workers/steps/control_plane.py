"""The ``control-plane`` step: the control plane's own objects, no Prometheus needed.

Leader Leases ``kube-system/kube-scheduler`` and ``kube-system/kube-controller-manager`` (holder,
renew age against the lease duration), the static control-plane pods' readiness and restarts, node
heartbeats from ``kube-node-lease`` and node conditions, and version skew between the API server
(``/version``), the controller manager and scheduler (their pod images) and the kubelets, judged
against Kubernetes' version-skew policy. Reads: one GET per Lease, one LIST each of kube-system
pods, nodes and node Leases.
"""

from __future__ import annotations

from collections import Counter

from clusterdoc.report import Finding, Severity, Table, Verdict
from clusterdoc.workers import sources as sources_module
from clusterdoc.workers.cluster.base import ClusterError
from clusterdoc.workers.layers import Reads, check_controller, check_nodes, check_scheduler
from clusterdoc.workers.runbook.registry import StepContext, StepKind, StepResult
from clusterdoc.workers.steps.options import LayerParams
from clusterdoc.workers.triage import control_plane as cp
from clusterdoc.workers.triage.verdict import decide

STEP = "control-plane"


class ControlPlaneParams(LayerParams):
    pass


def _versions(reads: Reads) -> Finding:
    rows: list[tuple[str, str, str]] = []
    problems: list[str] = []
    try:
        api = reads.version()
        rows.append(("kube-apiserver", api, "/version"))
    except ClusterError as exc:
        api = ""
        rows.append(("kube-apiserver", "?", str(exc)[:80]))
    components: dict[str, list[str]] = {}
    try:
        for pod in reads.static_pods():
            component, version = cp.component_of(pod), cp.image_version(pod)
            if component and version:
                components.setdefault(component, []).append(version)
    except ClusterError:
        pass
    for component in ("kube-controller-manager", "kube-scheduler", "etcd"):
        for version in sorted(set(components.get(component, []))):
            rows.append((component, version, "pod image"))
    kubelets: dict[str, str] = {}
    try:
        for node in reads.nodes():
            version = ((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion")
            if version:
                kubelets[(node.get("metadata") or {}).get("name", "?")] = version
    except ClusterError:
        pass
    for version, count in sorted(Counter(kubelets.values()).items()):
        rows.append(("kubelet", version, f"{count} node(s)"))
    if api:
        problems = [p.message for p in cp.version_skew(api, components.get("kube-controller-manager", []),
                                                        components.get("kube-scheduler", []), kubelets,
                                                        components.get("kube-apiserver"))]
    title = problems[0] if problems else "Versions are within the version-skew policy"
    return Finding(STEP, Severity.WARNING if problems else Severity.OK, title, "; ".join(problems[1:]),
                   [Table(("COMPONENT", "VERSION", "FROM"), tuple(rows))])


def control_plane_step(ctx: StepContext, params: ControlPlaneParams) -> StepResult:
    sources = sources_module.current()
    reads = Reads(ctx.cluster, ctx.now)
    options = params.options()
    end = ctx.now.timestamp()
    checks = [check(reads, sources, options, end, STEP) for check in (check_controller, check_scheduler, check_nodes)]
    result = StepResult()
    for check in checks:
        if not check.findings and check.row.status == "ok":
            result.findings.append(Finding(STEP, Severity.OK, f"{check.row.name}: {check.row.figure}"))
        result.findings.extend(check.findings)
        result.remediations.extend(check.remediations)
        result.attachments.extend(check.attachments)
    result.findings.append(_versions(reads))
    rows = [check.row for check in checks]
    decision = decide(rows) if any(row.red for row in rows) else None
    if decision is not None:
        result.verdict = Verdict(decision.layer, Severity(decision.severity), decision.summary)
    return result


STEP_KIND = StepKind(STEP, ControlPlaneParams, control_plane_step,
                     "Leader Leases, static control-plane pods, node heartbeats and conditions, version skew")
