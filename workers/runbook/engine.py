"""Runs a runbook against a cluster and assembles the report.

The engine fetches the target first (a missing object becomes a clear finding listing close
matches, not a crash), then runs each step in order. A step that raises does not stop the
others: its failure becomes a finding with an error id, and the traceback goes to the log
under the same id. Cluster errors (403, unreachable API server) become findings that say
which permission is missing or what could not be reached.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from clusterdoc.queue import DiagnosisRequest, refusal
from clusterdoc.report import Finding, Report, Severity, Target, Verdict, worst
from clusterdoc.workers.cluster.base import Cluster, ClusterError, Forbidden, Hung, NotFound, Obj, Unavailable
from clusterdoc.workers.runbook import missing
from clusterdoc.workers.runbook.loader import Catalogue, Runbook, resolve_step_params
from clusterdoc.workers.runbook.registry import STEPS, StepContext, StepResult, load_builtin_steps
from clusterdoc.workers.runbook.schema import StepSpec, error_lines

log = logging.getLogger(__name__)

def _coerce(value: str, default: Any) -> Any:
    """A ``key=value`` string from the command, typed like the runbook's default."""
    if isinstance(default, bool):
        return value.lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    return value


def run_parameters(runbook: Runbook, overrides: dict[str, str]) -> dict[str, Any]:
    """Runbook defaults updated with the command's ``key=value`` pairs; ValueError names a bad one."""
    params: dict[str, Any] = dict(runbook.spec.params)
    for key, raw in overrides.items():
        if key not in params:
            known = ", ".join(sorted(params)) or "none"
            raise ValueError(f"runbook {runbook.name} has no parameter {key!r} (parameters: {known})")
        try:
            params[key] = _coerce(raw, params[key])
        except ValueError as exc:
            raise ValueError(f"parameter {key}={raw!r}: expected {type(params[key]).__name__}") from exc
    return params


HUNG_TITLE = "API server not answering"


def _error_finding(step_id: str, exc: ClusterError) -> Finding:
    if isinstance(exc, Forbidden):
        return Finding(step_id, Severity.WARNING, f"Permission missing: {exc.verb} {exc.resource}", str(exc))
    if isinstance(exc, Hung):
        return Finding(step_id, Severity.CRITICAL, HUNG_TITLE, str(exc))
    if isinstance(exc, Unavailable):
        return Finding(step_id, Severity.CRITICAL, "API server unreachable", str(exc))
    return Finding(step_id, Severity.WARNING, "Cluster read failed", str(exc))


def _target_missing_report(request: DiagnosisRequest, runbook: str, exc: NotFound, cluster: Cluster) -> Report:
    assert request.target is not None
    near = missing.read_near_misses(cluster, request.target)
    detail = missing.explain(request, near)
    summary = missing.headline(str(exc), near)
    return Report(
        runbook=runbook,
        target=request.target,
        verdict=Verdict("none", Severity.WARNING, summary),
        findings=[Finding("target", Severity.WARNING, summary, detail)],
        cluster=request.cluster,
        command=request.command,
    )


def _target_problem(runbook: Runbook, target: Target | None) -> str | None:
    """Why ``target`` cannot be diagnosed by ``runbook`` (None when it can)."""
    if target is None:
        return None
    return refusal(target.kind, runbook=runbook.name, accepted=runbook.spec.targets or ())


def _combine_verdict(
    results: list[StepResult], findings: list[Finding], primary: StepResult | None = None
) -> Verdict:
    """The primary step's verdict if it gave one, else the most severe hint, else one from the findings."""
    if primary is not None and primary.verdict is not None:
        return primary.verdict
    hints = [result.verdict for result in results if result.verdict is not None]
    if hints:
        return max(hints, key=lambda verdict: verdict.severity.rank)
    severity = worst([finding.severity for finding in findings])
    if severity.rank <= Severity.INFO.rank:
        return Verdict("none", severity, "Nothing wrong found.")
    worst_finding = next(f for f in findings if f.severity == severity)
    layer = "apiserver" if worst_finding.title in ("API server unreachable", HUNG_TITLE) else "unknown"
    return Verdict(layer, severity, worst_finding.title)


def run_runbook(
    runbook: Runbook, request: DiagnosisRequest, cluster: Cluster, now: datetime | None = None
) -> Report:
    """Run ``runbook`` for ``request`` against ``cluster``; always returns a report.

    Three parts: :func:`_refused` decides whether the request can run at all, :func:`_read_target`
    fetches the target, :func:`_run_step` runs one step (turning any failure into a finding); this
    function only strings them together and combines the verdict.
    """
    load_builtin_steps()
    refused = _refused(runbook, request)
    if refused is not None:
        return refused
    params = run_parameters(runbook, request.params)
    target_object, problem = _read_target(runbook, request, cluster)
    if problem is not None:
        return problem
    context = StepContext(cluster, request.target, target_object, params, runbook.name, now or datetime.now(UTC))
    report = _empty_report(runbook.name, request, primary_step=runbook.spec.verdict_step)
    results: list[StepResult] = []
    primary: StepResult | None = None
    for step_spec in runbook.spec.steps:
        result = _run_step(runbook.name, step_spec, context, params)
        results.append(result)
        if step_spec.step_id == runbook.spec.verdict_step:
            primary = result
        report.findings.extend(result.findings)
        report.remediations.extend(result.remediations)
        report.extra.update(result.extra)
        report.attachments.extend(result.attachments)
    report.verdict = _combine_verdict(results, report.findings, primary)
    return report


def _empty_report(runbook: str, request: DiagnosisRequest, **extra: Any) -> Report:
    target = request.target or Target("Cluster", request.cluster)
    return Report(runbook, target, Verdict("none", Severity.OK, ""), cluster=request.cluster,
                  command=request.command, **extra)


def _refusal_report(runbook: str, request: DiagnosisRequest, step: str, title: str, reason: str) -> Report:
    report = _empty_report(runbook, request)
    report.verdict = Verdict("none", Severity.WARNING, reason)
    report.findings = [Finding(step, Severity.WARNING, title, reason)]
    return report


def _refused(runbook: Runbook, request: DiagnosisRequest) -> Report | None:
    """A report saying why the request cannot run (bad parameters, a target not taken), or None."""
    try:
        run_parameters(runbook, request.params)
    except ValueError as exc:
        return _refusal_report(runbook.name, request, "params", "Bad parameter", str(exc))
    target_problem = _target_problem(runbook, request.target)
    if target_problem:
        return _refusal_report(runbook.name, request, "target", "Target not accepted", target_problem)
    return None


def _read_target(runbook: Runbook, request: DiagnosisRequest, cluster: Cluster) -> tuple[Obj | None, Report | None]:
    """The target object (None without a target), or the report saying why it could not be read."""
    target = request.target
    if target is None:
        return None, None
    try:
        return cluster.get(target.kind, target.name, target.namespace), None
    except NotFound as exc:
        return None, _target_missing_report(request, runbook.name, exc, cluster)
    except ClusterError as exc:
        finding = _error_finding("target", exc)
        report = _empty_report(runbook.name, request)
        report.verdict, report.findings = _combine_verdict([], [finding]), [finding]
        return None, report


def _run_step(runbook: str, step_spec: StepSpec, context: StepContext, params: dict[str, str]) -> StepResult:
    """Run one step; a bad parameter, a cluster error or a bug becomes a finding, never an exception."""
    step_id = step_spec.step_id
    kind = STEPS[step_spec.kind]
    try:
        step_params = kind.params.model_validate(resolve_step_params(step_spec.with_, params))
        return kind.run(context, step_params)
    except ValidationError as exc:
        return StepResult([Finding(step_id, Severity.WARNING, "Bad step parameters", "; ".join(error_lines(exc)))])
    except ClusterError as exc:
        return StepResult([_error_finding(step_id, exc)])
    except Exception as exc:  # a bug in one step must not hide the others' findings
        error_id = uuid.uuid4().hex[:8]
        log.exception("step %s of runbook %s failed [error %s]", step_id, runbook, error_id)
        return StepResult([Finding(
            step_id, Severity.WARNING, f"Step {step_id} failed",
            f"{type(exc).__name__} inside the step; the worker log has the traceback under error id {error_id}.",
            error_id=error_id,
        )])


def run_request(
    catalogue: Catalogue, request: DiagnosisRequest, cluster: Cluster, now: datetime | None = None
) -> Report:
    """Look the runbook up and run it; an unknown runbook yields a report saying so."""
    runbook = catalogue.get(request.runbook)
    if runbook is None:
        summary = f"runbook {request.runbook} is not available yet"
        return Report(
            request.runbook, request.target or Target("Cluster", request.cluster),
            Verdict("none", Severity.INFO, summary), [Finding("runbook", Severity.INFO, summary)],
            cluster=request.cluster, command=request.command,
        )
    return run_runbook(runbook, request, cluster, now)
