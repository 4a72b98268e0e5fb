"""The RQ job that triages one alert on its cluster's worker and posts the report into the incident thread.

The bot (``bot.alerts``) enqueues :func:`triage_alert` with three dicts — the diagnosis request
built from the alert's labels, the thread (channel and root ``ts``) and the alert's identity —
on the cluster's queue, bounded by the triage queue's concurrency limit. The job picks the
runbook (``pod-not-ready`` becomes why-pending for a Pending pod and crashloop otherwise;
``alert-object`` is the describe + events triage for alerts no runbook knows), runs it, posts the
report through the process's :class:`~clusterdoc.workers.publish.Publisher` and, whatever happens, leaves
the in-flight set so the next triage can start. Like every worker module it never imports Slack.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rq import get_current_job

from clusterdoc.queue import TRIAGE_INFLIGHT_KEY as INFLIGHT_KEY
from clusterdoc.queue import DiagnosisRequest, ThreadRef
from clusterdoc.report import Finding, Report, Severity, Target, Verdict
from clusterdoc.workers import jobs
from clusterdoc.workers.cluster.base import Cluster, ClusterError
from clusterdoc.workers.runbook.engine import run_request, run_runbook
from clusterdoc.workers.runbook.loader import Catalogue, Runbook
from clusterdoc.workers.runbook.schema import RunbookSpec

log = logging.getLogger(__name__)

POD_NOT_READY = "pod-not-ready"
ALERT_OBJECT = "alert-object"

ALERT_OBJECT_SPEC = RunbookSpec.model_validate({
    "name": ALERT_OBJECT,
    "title": "What the alert's object looks like",
    "description": "For alerts no runbook knows: describe and events of the object the labels name.",
    "steps": [{"kind": "describe"}, {"kind": "events"}],
})


def choose_runbook(cluster: Cluster, request: DiagnosisRequest) -> str:
    """Resolve the alert-only runbook names into real ones (KubePodNotReady depends on the pod's phase)."""
    if request.runbook != POD_NOT_READY:
        return request.runbook
    if request.target is None or request.target.kind != "Pod":
        return ALERT_OBJECT
    try:
        pod = cluster.get("Pod", request.target.name, request.target.namespace)
    except ClusterError:
        return "why-pending"  # the engine reports the missing pod or the error itself
    return "why-pending" if (pod.get("status") or {}).get("phase") == "Pending" else "crashloop"


def _no_object_report(request: DiagnosisRequest, alert: dict[str, Any]) -> Report:
    labels = alert.get("labels") or {}
    shown = ", ".join(f"{key}={value}" for key, value in sorted(labels.items()))
    summary = "The alert's labels name no Kubernetes object to look at."
    detail = (f"Labels: {shown}. Add namespace with pod/deployment/statefulset/daemonset/job_name, "
              "or node, to the alert rule so clusterdoc can triage it.")
    return Report(request.runbook, Target("Cluster", request.cluster), Verdict("none", Severity.INFO, summary),
                  [Finding("alert", Severity.INFO, summary, detail)], cluster=request.cluster,
                  command=request.command)


def triage_report(catalogue: Catalogue, cluster: Cluster, request: DiagnosisRequest,
                  alert: dict[str, Any]) -> Report:
    """The report for one alert (never raises for cluster problems: they become findings)."""
    runbook = choose_runbook(cluster, request)
    resolved = DiagnosisRequest(request.verb, runbook, request.target, request.cluster, request.params,
                                request.command)
    if runbook == ALERT_OBJECT:
        if request.target is None:
            return _no_object_report(resolved, alert)
        return run_runbook(Runbook(ALERT_OBJECT_SPEC, Path("<built-in>")), resolved, cluster)
    found = catalogue.get(runbook)
    if found is not None and not found.spec.targets and resolved.target is not None:
        # cluster-wide runbooks (apiserver, etcd, control-plane, capacity, triage) look at the whole
        # control plane; the alert's labels (an etcd pod, a scheduler instance) are not their target
        resolved = DiagnosisRequest(resolved.verb, runbook, None, resolved.cluster, resolved.params,
                                    resolved.command)
    needs_target = runbook in ("crashloop", "node", "deployment", "why-pending", "describe")
    if needs_target and request.target is None:
        return _no_object_report(resolved, alert)
    return run_request(catalogue, resolved, cluster)


def triage_alert(request: dict[str, Any], thread: dict[str, Any], alert: dict[str, Any]) -> dict[str, Any]:
    """Triage one firing alert and post the report into its incident's thread."""
    try:
        ctx = jobs.context()
        parsed = DiagnosisRequest.from_json(request)
        where = ThreadRef.from_json(thread)
        if parsed.cluster != ctx.cluster.name:
            ctx.publisher.publish_error(
                jobs.WRONG_CLUSTER_TEXT.format(wanted=parsed.cluster, actual=ctx.cluster.name), where)
            return {"run": False, "reason": "wrong cluster"}
        before = ctx.cluster.request_count()
        jobs.start_budget(ctx.cluster)
        report = triage_report(ctx.catalogue, ctx.cluster, parsed, alert)
        ctx.publisher.publish(report, where)
        return {"run": True, "runbook": report.runbook, "verdict": report.verdict.to_json(),
                "api_requests": ctx.cluster.request_count() - before}
    finally:
        job = get_current_job()
        if job is not None and alert.get("item_id"):
            job.connection.zrem(INFLIGHT_KEY, alert["item_id"])
