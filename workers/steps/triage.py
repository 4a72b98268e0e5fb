"""The ``triage`` step: every layer checked at once, within a time budget; one row per layer; the verdict.

The five layer checks (:mod:`workers.layers`) run concurrently in threads sharing one set of
cluster reads. Whatever has not finished when the budget (20 s by default) runs out is reported
as unfinished, not waited for. :func:`workers.triage.verdict.decide` names the most likely broken
layer — reasoning about cause and effect when several are red — or ``none``/``unknown``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from pydantic import Field

from clusterdoc.report import Finding, Severity, Table, Text, Verdict
from clusterdoc.workers import sources as sources_module
from clusterdoc.workers.layers import CHECKS, LayerCheck, Reads, absent_finding, unseen_finding
from clusterdoc.workers.runbook.registry import StepContext, StepKind, StepResult
from clusterdoc.workers.steps.options import LayerParams
from clusterdoc.workers.triage.verdict import LAYER_NAMES, ROW_ORDER, LayerRow, decide

STEP = "triage"
log = logging.getLogger(__name__)
ARTICLED = {"apiserver": "the API server", "etcd": "etcd", "controller": "the controller manager",
            "scheduler": "the scheduler", "node": "the nodes"}
STATUS_TEXT = {"ok": "ok", "warning": "WARNING", "critical": "CRITICAL", "unseen": "not seen",
               "unfinished": "unfinished"}


class TriageParams(LayerParams):
    budget_seconds: float = Field(20.0, gt=0, le=600, description="time budget for all layer checks together")
    layers: list[str] = Field(default_factory=lambda: list(ROW_ORDER), description="layers to check")


def run_checks(ctx: StepContext, params: TriageParams, step: str) -> dict[str, LayerCheck]:
    """Each layer's check, run concurrently; unfinished (or failed) checks become rows that say so."""
    sources = sources_module.current()
    reads = Reads(ctx.cluster, ctx.now)
    options = params.options()
    end = ctx.now.timestamp()
    layers = [layer for layer in ROW_ORDER if layer in params.layers]
    outcomes: dict[str, LayerCheck | BaseException] = {}

    def work(layer: str) -> None:
        try:
            outcomes[layer] = CHECKS[layer](reads, sources, options, end, step)
        except Exception as exc:  # one layer's bug must not hide the others
            outcomes[layer] = exc

    # daemon threads: a check still waiting on a slow source when the budget ends must not keep the
    # process (``clusterdoc ask``, the worker) from moving on or exiting
    threads = [threading.Thread(target=work, args=(layer,), name=f"triage-{layer}", daemon=True)
               for layer in layers]
    deadline = time.monotonic() + params.budget_seconds
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
    checks: dict[str, LayerCheck] = {}
    for layer in layers:
        outcome = outcomes.get(layer)
        if outcome is None:
            late = f"did not finish within {params.budget_seconds:g} s"
            checks[layer] = LayerCheck(LayerRow(layer, "unfinished", late, unseen=[late]))
        elif isinstance(outcome, BaseException):
            error_id = uuid.uuid4().hex[:8]
            log.error("triage check %s failed [error %s]", layer, error_id, exc_info=outcome)
            checks[layer] = LayerCheck(LayerRow(layer, "unseen", "check failed",
                                                unseen=[f"{type(outcome).__name__} (error id {error_id})"]))
        else:
            checks[layer] = outcome
    return checks


def layer_table(checks: dict[str, LayerCheck]) -> Table:
    return Table(("LAYER", "STATUS", "MOST TELLING"), tuple(
        (LAYER_NAMES[layer], STATUS_TEXT[check.row.status],
         (check.row.evidence[0] if check.row.evidence else check.row.figure or "; ".join(check.row.unseen))[:160])
        for layer, check in checks.items()))


def triage_step(ctx: StepContext, params: TriageParams) -> StepResult:
    checks = run_checks(ctx, params, STEP)
    decision = decide([check.row for check in checks.values()])
    severity = Severity(decision.severity)
    blocks: list[Table | Text] = [layer_table(checks)]
    if decision.reasoning:
        blocks.append(Text("\n".join(decision.reasoning)))
    result = StepResult(verdict=Verdict(decision.layer, severity, decision.summary))
    result.findings.append(Finding(STEP, severity, decision.summary, "", list(blocks)))
    absent: list[str] = []
    for layer, check in checks.items():
        result.findings.extend(check.findings)
        absent.extend(check.absent)
        if check.row.unseen and not any(f.title.startswith("Could not see") for f in check.findings):
            result.findings.append(unseen_finding(STEP, f"part of {ARTICLED[layer]}", check.row.unseen))
        result.remediations.extend(check.remediations)
        result.attachments.extend(check.attachments)
    if absent:
        result.findings.append(absent_finding(STEP, absent))
    result.extra["triage"] = {
        "layers": [{"layer": layer, "status": check.row.status, "figure": check.row.figure,
                    "evidence": check.row.evidence, "unseen": check.row.unseen} for layer, check in checks.items()],
        "reasoning": decision.reasoning,
    }
    return result


STEP_KIND = StepKind(STEP, TriageParams, triage_step,
                     "Which layer is broken: API server, etcd, controller manager, scheduler, nodes — concurrently, "
                     "within a time budget")
