"""The runbook engine: verdict selection, parameters, unknown runbooks, failing steps."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from clusterdoc.queue import DiagnosisRequest
from clusterdoc.report import Finding, Severity, Target, Verdict
from clusterdoc.workers.cluster.snapshot import SnapshotCluster
from clusterdoc.workers.runbook.engine import run_request, run_runbook
from clusterdoc.workers.runbook.loader import Catalogue, RunbookError, load_file
from clusterdoc.workers.runbook.registry import StepContext, StepKind, StepParams, StepResult, register

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class VerdictParams(StepParams):
    layer: str = "node"
    severity: Severity = Severity.WARNING
    fail: bool = False


def _verdict_step(ctx: StepContext, params: VerdictParams) -> StepResult:
    if params.fail:
        raise ZeroDivisionError("boom")
    return StepResult([Finding("test-verdict", params.severity, f"{params.layer} says so")],
                      Verdict(params.layer, params.severity, f"{params.layer} is broken"))


register(StepKind("test-verdict", VerdictParams, _verdict_step, "emits a fixed verdict (tests only)"))


def runbook(tmp_path: Path, body: str):
    path = tmp_path / "rb.yaml"
    path.write_text(body)
    return load_file(path)


def request(**params: str) -> DiagnosisRequest:
    return DiagnosisRequest("run", "rb", Target("Pod", "web-0", "shop"), params=params)


@pytest.fixture
def cluster() -> SnapshotCluster:
    return SnapshotCluster.from_path(EXAMPLES / "taint-pending")


TWO_VERDICTS = """name: rb
title: Two opinions
{extra}steps:
  - {{kind: test-verdict, id: first, with: {{layer: scheduler, severity: warning}}}}
  - {{kind: test-verdict, id: second, with: {{layer: node, severity: critical}}}}
"""


def test_most_severe_verdict_wins_by_default(tmp_path: Path, cluster: SnapshotCluster) -> None:
    report = run_runbook(runbook(tmp_path, TWO_VERDICTS.format(extra="")), request(), cluster)
    assert report.verdict.layer == "node"


def test_verdict_step_decides(tmp_path: Path, cluster: SnapshotCluster) -> None:
    report = run_runbook(runbook(tmp_path, TWO_VERDICTS.format(extra="verdict_step: first\n")), request(), cluster)
    assert report.verdict.layer == "scheduler"
    assert len(report.findings) == 2


def test_verdict_step_must_name_a_step(tmp_path: Path) -> None:
    with pytest.raises(RunbookError, match=r"verdict_step 'nope' names no step"):
        runbook(tmp_path, TWO_VERDICTS.format(extra="verdict_step: nope\n"))


def test_failing_step_is_reported_with_error_id_and_logged(
    tmp_path: Path, cluster: SnapshotCluster, caplog: pytest.LogCaptureFixture
) -> None:
    body = """name: rb
title: One breaks
steps:
  - {kind: test-verdict, id: broken, with: {fail: true}}
  - {kind: test-verdict, id: fine}
"""
    with caplog.at_level(logging.ERROR):
        report = run_runbook(runbook(tmp_path, body), request(), cluster)
    broken, fine = report.findings
    assert broken.title == "Step broken failed" and broken.error_id
    assert broken.error_id in broken.detail and "ZeroDivisionError" in broken.detail
    assert fine.title == "node says so"
    record = next(r for r in caplog.records if broken.error_id in r.getMessage())
    assert record.exc_info is not None and "boom" in str(record.exc_info[1])


def test_command_parameters_are_typed_and_checked(tmp_path: Path, cluster: SnapshotCluster) -> None:
    body = """name: rb
title: Params
params: {sev: warning, limit: 3}
steps:
  - {kind: test-verdict, with: {severity: "${sev}"}}
"""
    book = runbook(tmp_path, body)
    assert run_runbook(book, request(sev="critical"), cluster).verdict.severity == Severity.CRITICAL
    bad = run_runbook(book, request(limit="many"), cluster)
    assert bad.findings[0].title == "Bad parameter" and "limit='many': expected int" in bad.findings[0].detail
    unknown = run_runbook(book, request(colour="red"), cluster)
    assert "has no parameter 'colour' (parameters: limit, sev)" in unknown.findings[0].detail


def test_unknown_target_lists_close_matches(tmp_path: Path, cluster: SnapshotCluster) -> None:
    body = "name: rb\ntitle: T\nsteps:\n  - {kind: test-verdict}\n"
    report = run_runbook(runbook(tmp_path, body), DiagnosisRequest("run", "rb", Target("Pod", "web-1", "shop")),
                         cluster)
    assert report.findings[0].title == "pod web-1 not found in namespace shop"
    assert "web-0" in report.findings[0].detail


def test_missing_runbook_says_not_available(cluster: SnapshotCluster) -> None:
    report = run_request(Catalogue({}), DiagnosisRequest("etcd", "etcd", None), cluster)
    assert report.verdict.summary == "runbook etcd is not available yet"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (Target("Secret", "db-password", "shop"), "a Secret is never read"),
        (Target("Node", "ip-10-0-1-5"), "runbook rb does not take a Node (it takes: Pod, Deployment)"),
    ],
    ids=["secret", "wrong-kind"],
)
def test_targets_the_runbook_does_not_take_are_refused_before_any_read(
    tmp_path: Path, target: Target, expected: str
) -> None:
    body = "name: rb\ntitle: T\ntargets: [Pod, deploy]\nsteps:\n  - {kind: test-verdict}\n"
    cluster = SnapshotCluster.from_path(EXAMPLES / "taint-pending")
    report = run_runbook(runbook(tmp_path, body), DiagnosisRequest("run", "rb", target), cluster)
    assert report.findings[0].title == "Target not accepted"
    assert report.findings[0].detail.startswith(expected)
