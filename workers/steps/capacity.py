"""The ``capacity`` step: pod requests against node allocatable, cluster-wide and per node pool.

For KubeCPUOvercommit / KubeMemoryOvercommit: the sum of the requests of non-terminal pods bound
to nodes (the scheduler's own arithmetic, not usage) against the nodes' allocatable, per node pool
(``node-pool`` style labels, else the instance type) and for the whole cluster, and whether the
cluster still survives losing its largest node. Reads: one LIST of nodes and one of non-terminal
pods, whatever the size.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from pydantic import Field

from clusterdoc.report import Finding, Remediation, Severity, Table, Target, Verdict
from clusterdoc.workers.cluster.base import ClusterError, Obj
from clusterdoc.workers.runbook.registry import StepContext, StepKind, StepParams, StepResult
from clusterdoc.workers.steps.common import controller_of, format_bytes, format_cpu, parse_quantity

STEP = "capacity"
POOL_LABELS = ("cloud.google.com/gke-nodepool", "eks.amazonaws.com/nodegroup", "karpenter.sh/nodepool",
               "kubernetes.azure.com/agentpool", "agentpool", "node-pool", "nodepool", "pool",
               "node.kubernetes.io/instance-type")
RESOURCES = ("cpu", "memory")


class CapacityParams(StepParams):
    warning_ratio: float = Field(0.85, gt=0, description="requests/allocatable over this is a warning")
    critical_ratio: float = Field(1.0, gt=0, description="requests/allocatable over this is critical")


def _pool(node: Obj) -> str:
    labels = (node.get("metadata") or {}).get("labels") or {}
    for label in POOL_LABELS:
        if labels.get(label):
            return str(labels[label])
    return "(no pool label)"


def pod_requests(pod: Obj) -> dict[str, Decimal]:
    """The pod's effective request: max(largest init container, sum of app containers) + overhead."""
    spec = pod.get("spec") or {}
    total: dict[str, Decimal] = {}
    for resource in RESOURCES:
        app = sum((parse_quantity(((c.get("resources") or {}).get("requests") or {}).get(resource))
                   for c in spec.get("containers") or []), Decimal(0))
        init = max((parse_quantity(((c.get("resources") or {}).get("requests") or {}).get(resource))
                    for c in spec.get("initContainers") or []), default=Decimal(0))
        total[resource] = max(app, init) + parse_quantity((spec.get("overhead") or {}).get(resource))
    return total


def _fmt(resource: str, amount: Decimal) -> str:
    return format_cpu(amount) if resource == "cpu" else format_bytes(amount)


def capacity_step(ctx: StepContext, params: CapacityParams) -> StepResult:
    nodes = list(ctx.cluster.list("Node", allow_stale=True))
    pool_of = {(n.get("metadata") or {}).get("name"): _pool(n) for n in nodes}
    allocatable: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    largest: dict[str, Decimal] = defaultdict(Decimal)
    for node in nodes:
        if (node.get("spec") or {}).get("unschedulable"):
            continue
        values = (node.get("status") or {}).get("allocatable") or {}
        for resource in RESOURCES:
            amount = parse_quantity(values.get(resource))
            allocatable[_pool(node)][resource] += amount
            largest[resource] = max(largest[resource], amount)
    requested: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for pod in ctx.cluster.list("Pod", field_selector="status.phase!=Succeeded,status.phase!=Failed",
                                allow_stale=True):
        bound = str((pod.get("spec") or {}).get("nodeName") or "")
        if not bound or bound not in pool_of:
            continue
        for resource, amount in pod_requests(pod).items():
            requested[pool_of[bound]][resource] += amount
    rows = []
    worst: tuple[float, str, str] = (0.0, "", "")
    totals = {r: (sum((a[r] for a in allocatable.values()), Decimal(0)),
                  sum((q[r] for q in requested.values()), Decimal(0))) for r in RESOURCES}
    for pool in sorted(set(allocatable) | set(requested)):
        cells = []
        for resource in RESOURCES:
            alloc, req = allocatable[pool][resource], requested[pool][resource]
            ratio = float(req / alloc) if alloc else float("inf") if req else 0.0
            cells.append(f"{_fmt(resource, req)} / {_fmt(resource, alloc)} ({ratio:.0%})")
            worst = max(worst, (ratio, pool, resource))
        rows.append((pool, *cells))
    cluster_cells = []
    findings: list[Finding] = []
    verdict: Verdict | None = None
    for resource in RESOURCES:
        alloc, req = totals[resource]
        ratio = float(req / alloc) if alloc else 0.0
        cluster_cells.append(f"{_fmt(resource, req)} / {_fmt(resource, alloc)} ({ratio:.0%})")
        spare = alloc - largest[resource]
        if spare > 0 and req > spare:
            findings.append(Finding(STEP, Severity.WARNING, f"Losing the largest node would overcommit {resource}: "
                                    f"{_fmt(resource, req)} requested, {_fmt(resource, spare)} left without it"))
    rows.append(("(cluster)", *cluster_cells))
    table = Table(("POOL", "CPU REQUESTED / ALLOCATABLE", "MEMORY REQUESTED / ALLOCATABLE"), tuple(rows))
    ratio, pool, resource = worst
    if ratio > params.critical_ratio:
        severity = Severity.CRITICAL
    elif ratio > params.warning_ratio:
        severity = Severity.WARNING
    else:
        severity = Severity.OK
    title = (f"Node pool {pool} has {ratio:.0%} of its allocatable {resource} requested" if severity != Severity.OK
             else f"Requests fit: the fullest pool is {pool} at {ratio:.0%} {resource}")
    findings.insert(0, Finding(STEP, severity, title, "Requests of non-terminal pods bound to schedulable nodes "
                               "against those nodes' allocatable (what the scheduler counts, not usage).", [table]))
    remediations: list[Remediation] = []
    if severity != Severity.OK:
        verdict = Verdict("scheduler" if severity == Severity.CRITICAL else "none", severity, title + ".")
        remediations = _scale_offers(ctx)
    return StepResult(findings, verdict, remediations)


def _scale_offers(ctx: StepContext, limit: int = 3) -> list[Remediation]:
    """Deployments with replicas that fit nowhere: offer to scale them to what runs, until capacity is added.

    One LIST of Pending pods; one GET per owner level for at most ``limit`` Deployments.
    """
    waiting: dict[tuple[str, str], int] = defaultdict(int)
    for pod in ctx.cluster.list("Pod", field_selector="status.phase=Pending", allow_stale=True):
        if (pod.get("spec") or {}).get("nodeName"):
            continue
        owner = controller_of(pod)
        if owner and owner.get("kind") == "ReplicaSet":
            waiting[((pod.get("metadata") or {}).get("namespace", ""), str(owner.get("name")))] += 1
    offers: list[Remediation] = []
    for (namespace, replicaset), count in sorted(waiting.items(), key=lambda item: -item[1])[:limit]:
        try:
            rs = ctx.cluster.get("ReplicaSet", replicaset, namespace)
            owner = controller_of(rs)
            if not owner or owner.get("kind") != "Deployment":
                continue
            deployment = ctx.cluster.get("Deployment", str(owner.get("name")), namespace)
        except ClusterError:
            continue
        desired = int((deployment.get("spec") or {}).get("replicas") or 0)
        ready = int((deployment.get("status") or {}).get("readyReplicas") or 0)
        if desired <= ready:
            continue
        name = (deployment.get("metadata") or {}).get("name", "?")
        offers.append(Remediation(
            "scale", Target("Deployment", name, namespace), "medium",
            f"Scale deployment {namespace}/{name} from {desired} to {ready} (the replicas that run): {count} "
            "replica(s) wait for room the cluster does not have; scale back once nodes are added.",
            params={"replicas": ready, "current": desired}))
    return offers


STEP_KIND = StepKind(STEP, CapacityParams, capacity_step,
                     "Pod requests against node allocatable, per node pool and cluster-wide")
