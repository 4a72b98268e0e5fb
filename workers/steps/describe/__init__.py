"""The ``describe`` step: the state of the target as an SRE reads it, with the bad parts flagged.

Covers Pod, Node, Deployment/StatefulSet/DaemonSet, ReplicaSet, Job and PersistentVolumeClaim
(other kinds get their metadata and conditions), one module per family. This module registers
the step, dispatches on the target's kind and caps each object's output at ``max_lines``;
whatever is cut is counted in a note. For a workload it also lists the pods and describes the
unhealthiest ones in full. It offers a verdict only when the evidence is plain (crash loop →
``workload``, NotReady node → ``node``, unschedulable pod → ``scheduler``); the deep
why-pending analysis is another step's job.

Never shown: a Secret's data, environment variable values (or names), ``valueFrom`` references,
container commands and arguments, termination messages — anything that may carry a credential.

API calls are bounded: a pod costs one GET per owner level and one for its node; a node one GET
(its Lease) and one LIST (its pods); a workload two LISTs at most for its ReplicaSets and pods.
"""

from __future__ import annotations

from pydantic import Field

from clusterdoc import kinds
from clusterdoc.report import Block, Facts, Finding, Severity, Table, Text
from clusterdoc.workers.runbook.registry import StepContext, StepKind, StepParams, StepResult
from clusterdoc.workers.steps.describe.node import (
    NODE_LEASE_NAMESPACE,
    NODE_MONITOR_GRACE_SECONDS,
    describe_node,
    pod_requests,
)
from clusterdoc.workers.steps.describe.other import describe_other
from clusterdoc.workers.steps.describe.parts import (
    CONDITION_COLUMNS,
    TRUE_IS_BAD,
    Described,
    condition_bad,
    conditions_table,
    resources_text,
    taint_text,
    toleration_text,
)
from clusterdoc.workers.steps.describe.pod import UNSCHEDULED_GRACE_SECONDS, WAITING_PROBLEMS, describe_pod, pod_status
from clusterdoc.workers.steps.describe.pvc import describe_pvc
from clusterdoc.workers.steps.describe.workload import describe_workload

__all__ = [
    "CONDITION_COLUMNS", "NODE_LEASE_NAMESPACE", "NODE_MONITOR_GRACE_SECONDS", "STEP", "TRUE_IS_BAD",
    "UNSCHEDULED_GRACE_SECONDS", "WAITING_PROBLEMS", "DescribeParams", "Described", "cap_blocks", "condition_bad",
    "conditions_table", "describe_node", "describe_other", "describe_pod", "describe_pvc", "describe_step",
    "describe_workload", "pod_requests", "pod_status", "resources_text", "taint_text", "toleration_text",
]

STEP = "describe"


class DescribeParams(StepParams):
    max_lines: int = Field(60, ge=10, le=1000, description="at most this many lines per object")
    pods: int = Field(1, ge=0, le=10, description="for a workload: how many unhealthy pods to describe in full")
    log_lines: int = Field(10, ge=0, le=200, description="log tail of a crashed container (0: none)")


def _lines(block: Block) -> int:
    if isinstance(block, Facts):
        return len(block.items)
    if isinstance(block, Table):
        return len(block.rows) + 1
    return len(block.text.splitlines()) or 1


def cap_blocks(blocks: list[Block], max_lines: int) -> list[Block]:
    """``blocks`` trimmed to ``max_lines`` by cutting table rows (then facts) from the end, with a note."""
    total = sum(_lines(b) for b in blocks)
    if total <= max_lines:
        return blocks
    excess = total - max_lines + 1  # one line for the note
    trimmed = list(blocks)
    cuts: list[str] = []
    for kinds_to_cut in ((Table,), (Facts,)):
        for index in range(len(trimmed) - 1, -1, -1):
            block = trimmed[index]
            if excess <= 0 or not isinstance(block, kinds_to_cut):
                continue
            items = block.rows if isinstance(block, Table) else block.items
            keep = max(len(items) - excess, 2 if isinstance(block, Table) else 4)
            if keep >= len(items):
                continue
            dropped = len(items) - keep
            excess -= dropped
            if isinstance(block, Table):
                trimmed[index] = Table(block.columns, block.rows[:keep])
                cuts.append(f"{dropped} of {len(items)} {block.columns[0].lower()} rows")
            else:
                trimmed[index] = Facts(block.items[:keep])
                cuts.append(f"{dropped} facts")
    if cuts:
        trimmed.append(Text(f"Cut to stay within {max_lines} lines: {', '.join(cuts)} not shown."))
    return trimmed


def _finding(described: Described, max_lines: int) -> Finding:
    return Finding(STEP, described.severity, described.title, "\n".join(described.detail),
                   cap_blocks(described.blocks, max_lines))


def describe_step(ctx: StepContext, params: DescribeParams) -> StepResult:
    obj = ctx.target_object
    if obj is None:
        return StepResult([Finding(STEP, Severity.INFO, "No target object: nothing to describe")])
    kind = obj.get("kind")
    if kind == "Pod":
        described = [describe_pod(ctx, obj, params.log_lines)]
    elif kind == "Node":
        described = [describe_node(ctx, obj)]
    elif kind in kinds.WORKLOAD_KINDS:
        described = describe_workload(ctx, obj, params)
    elif kind == "PersistentVolumeClaim":
        described = [describe_pvc(ctx, obj)]
    else:
        described = [describe_other(ctx, obj)]
    verdict = described[0].verdict or next((d.verdict for d in described if d.verdict), None)
    return StepResult([_finding(d, params.max_lines) for d in described], verdict=verdict)


STEP_KIND = StepKind("describe", DescribeParams, describe_step,
                     "State of the target: status, conditions, containers, owners, taints")
