"""The ``etcd`` step: every member of ``ETCD_ENDPOINTS`` — health, status, alarms, quorum, leader,
raft lag, version against the API server — plus the etcd metric presets when Prometheus answers.

A fragmented member (dbSize/dbSizeInUse over the threshold) gets an ``etcd_defrag`` offer for one
member, a follower first. A member that does not answer is a finding with its error.
"""

from __future__ import annotations

from pydantic import Field

from clusterdoc.report import Severity, Verdict
from clusterdoc.workers import sources as sources_module
from clusterdoc.workers.layers import Reads, absent_finding, check_etcd, check_etcd_members, unseen_finding
from clusterdoc.workers.runbook.registry import StepContext, StepKind, StepResult
from clusterdoc.workers.steps.options import LayerParams

STEP = "etcd"


class EtcdParams(LayerParams):
    metrics: bool = Field(True, description="also judge the etcd metric presets (fsync, commit, db size...)")


def etcd_step(ctx: StepContext, params: EtcdParams) -> StepResult:
    sources = sources_module.current()
    reads = Reads(ctx.cluster, ctx.now)
    if params.metrics:
        check = check_etcd(reads, sources, params.options(), ctx.now.timestamp(), STEP)
    else:
        check = check_etcd_members(reads, sources, params.options(), STEP)
    row = check.row
    result = StepResult(check.findings, None, check.remediations, attachments=check.attachments)
    if check.absent:
        result.findings.append(absent_finding(STEP, check.absent))
    if row.unseen:
        result.findings.append(unseen_finding(STEP, "part of etcd", row.unseen))
    if row.status in ("warning", "critical"):
        result.verdict = Verdict("etcd", Severity(row.status), row.evidence[0])
    elif row.status == "ok":
        result.verdict = Verdict("none", Severity.OK, f"etcd looks healthy: {row.figure}.")
    else:
        result.verdict = Verdict("unknown", Severity.WARNING, "etcd could not be seen: " + "; ".join(row.unseen))
    return result


STEP_KIND = StepKind(STEP, EtcdParams, etcd_step,
                     "etcd members: health, leader, raft, db size vs in use, alarms, quorum, version; defrag offer")
