"""Golden why-pending cases: each folder under ``tests/golden/why_pending`` is one incident.

A case holds ``snapshot.yaml`` (what ``kubectl get ... -o yaml`` would print, plus container
logs under ``logs/``) and ``expected.yaml`` (verdict layer, pending case, the parse of the
scheduler's newest FailedScheduling message, blocking categories per node, closest fit,
summary substrings), all derived by hand from kube-scheduler's semantics — see the folder's
README for the catalogue. Every case runs twice: against the snapshot backend, and through
the real ``kubernetes`` client against the fake API server serving the same snapshot; both
runs must also agree with each other.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from clusterdoc.queue import DiagnosisRequest
from clusterdoc.report import Target
from clusterdoc.workers.cluster.base import Cluster
from clusterdoc.workers.cluster.snapshot import SnapshotCluster, SnapshotStore
from clusterdoc.workers.runbook.engine import run_request
from clusterdoc.workers.runbook.loader import Catalogue
from clusterdoc.workers.scheduling.message import parse
from tests.conftest import FakeKubeFactory
from tests.harness.fake_kube import live_cluster

GOLDEN = Path(__file__).resolve().parent / "golden" / "why_pending"
CASES = sorted(path.name for path in GOLDEN.iterdir() if (path / "expected.yaml").is_file())
CASE_KEYS = {"description", "now", "target", "case", "layer", "message", "nodes", "closest_fit", "summary_contains",
             "reconciliation_agrees", "facts_contain", "remediations"}
PENDING_CASES = {"not_scheduled", "scheduled_not_started", "never_created", "not_pending", "no_scheduler"}


@cache
def expected_of(case: str) -> dict[str, Any]:
    data = yaml.safe_load((GOLDEN / case / "expected.yaml").read_text(encoding="utf-8"))
    unknown = set(data) - CASE_KEYS
    assert not unknown, f"{case}/expected.yaml: unknown keys {sorted(unknown)}"
    assert data["case"] in PENDING_CASES, f"{case}/expected.yaml: unknown case {data['case']!r}"
    return data


def load_store(case: str) -> SnapshotStore:
    """The case's snapshot with its container logs (``logs/<ns>/<pod>/<container>[.previous].log``)."""
    folder = GOLDEN / case
    store = SnapshotStore.load(folder / "snapshot.yaml")
    for log_file in (folder / "logs").glob("*/*/*.log"):
        container, previous = log_file.name.removesuffix(".log"), False
        if container.endswith(".previous"):
            container, previous = container.removesuffix(".previous"), True
        key = (log_file.parent.parent.name, log_file.parent.name, container, previous)
        store.logs[key] = log_file.read_text(encoding="utf-8")
    return store


def newest_failed_scheduling(store: SnapshotStore) -> str | None:
    """The message of the newest FailedScheduling event in the snapshot (core/v1 or events.k8s.io shape)."""

    def when(event: dict[str, Any]) -> str:
        series = event.get("series") or {}
        return str(series.get("lastObservedTime") or event.get("lastTimestamp") or event.get("eventTime") or "")

    events = [e for e in store.by_kind.get("Event", []) if e.get("reason") == "FailedScheduling"]
    return max(events, key=when)["message"] if events else None


def run_case(case: str, cluster: Cluster) -> dict[str, Any]:
    expected = expected_of(case)
    target = Target(**expected["target"])
    request = DiagnosisRequest(verb="why-pending", runbook="why-pending", target=target)
    now = datetime.fromisoformat(expected["now"].replace("Z", "+00:00"))
    report = run_request(Catalogue.load(), request, cluster, now=now)
    return report.to_json()


def reason_pairs(reasons: list[dict[str, Any]]) -> set[tuple[str, int | None]]:
    return {(reason["category"], reason["nodes"]) for reason in reasons}


def check_report(case: str, report: dict[str, Any]) -> None:
    expected = expected_of(case)
    failed_steps = [f for f in report["findings"] if f.get("error_id")]
    assert not failed_steps, f"a step crashed: {failed_steps}"
    verdict = report["verdict"]
    assert verdict["layer"] == expected["layer"], verdict["summary"]
    scheduling = report.get("scheduling")
    assert scheduling is not None, "the report has no scheduling section"
    assert scheduling.get("case") == expected["case"], verdict["summary"]
    if "message" in expected:
        message = scheduling.get("message") or {}
        assert message.get("total_nodes") == expected["message"]["total_nodes"]
        assert reason_pairs(message.get("reasons") or []) == reason_pairs(expected["message"]["reasons"])
    if "nodes" in expected:
        computed = {
            node["name"]: sorted({blocking["category"] for blocking in node.get("blocking") or []})
            for node in scheduling.get("nodes") or []
        }
        wanted = {name: sorted(categories) for name, categories in expected["nodes"].items()}
        assert computed == wanted
    if "closest_fit" in expected:
        assert (scheduling.get("closest_fit") or {}).get("node") == expected["closest_fit"]
    for text in expected.get("summary_contains") or []:
        assert text.lower() in verdict["summary"].lower(), f"{text!r} not in {verdict['summary']!r}"
    if "reconciliation_agrees" in expected:
        reconciliation = scheduling["reconciliation"]
        assert reconciliation["agrees"] is expected["reconciliation_agrees"], reconciliation
    if "facts_contain" in expected:
        facts = scheduling_facts(report)
        for label, text in expected["facts_contain"].items():
            assert label in facts, f"no {label!r} fact in {sorted(facts)}"
            assert text.lower() in facts[label].lower(), f"{text!r} not in {label}: {facts[label]!r}"
    if "remediations" in expected:
        check_remediations(expected["remediations"], report["remediations"])


def scheduling_facts(report: dict[str, Any]) -> dict[str, str]:
    """The label -> value facts of the scheduling step's findings."""
    facts: dict[str, str] = {}
    for finding in report["findings"]:
        if finding["step"] != "scheduling":
            continue
        for block in finding.get("blocks") or []:
            if block["type"] == "facts":
                facts.update({label: value for label, value in block["items"]})
    return facts


def check_remediations(wanted: list[dict[str, Any]], offered: list[dict[str, Any]]) -> None:
    """The offered remediations, in order: action, target name, and substrings of the description and snippet
    that must (``contains``) or must not (``excludes``) appear."""
    assert [r["action"] for r in offered] == [w["action"] for w in wanted], offered
    for want, got in zip(wanted, offered, strict=True):
        if "target" in want:
            assert got["target"]["name"] == want["target"], got
        text = (got["description"] + "\n" + (got.get("snippet") or "")).lower()
        for piece in want.get("contains") or []:
            assert piece.lower() in text, f"{piece!r} not in {text!r}"
        for piece in want.get("excludes") or []:
            assert piece.lower() not in text, f"{piece!r} in {text!r}"


def test_catalogue_is_complete() -> None:
    """At least 30 cases, all five pending cases, every scheduling category both parsed and computed.

    A category only the scheduler's words give (``categories.MESSAGE_ONLY``) must be parsed somewhere in the
    catalogue or in the wording table (``tests/test_scheduling_wordings.py``); one no message names on its own
    (``categories.NODE_ONLY``) must be computed by some case.
    """
    from clusterdoc.workers.scheduling import categories
    from tests.test_scheduling_wordings import TABLE_CATEGORIES

    assert len(CASES) >= 30
    assert {expected_of(case)["case"] for case in CASES} == PENDING_CASES
    parsed = {r["category"] for case in CASES for r in expected_of(case).get("message", {}).get("reasons", [])}
    computed = {c for case in CASES for cats in expected_of(case).get("nodes", {}).values() for c in cats}
    assert set(categories.ALL) - categories.NODE_ONLY - categories.MESSAGE_ONLY <= parsed
    assert categories.MESSAGE_ONLY <= parsed | TABLE_CATEGORIES
    assert set(categories.ALL) - computed == categories.MESSAGE_ONLY
    readme = (GOLDEN / "README.md").read_text(encoding="utf-8")
    assert all(f"`{case}`" in readme for case in CASES), "every case has its line in the README catalogue"


@pytest.mark.parametrize("case", CASES)
def test_golden_case(case: str, fake_kube: FakeKubeFactory) -> None:
    store = load_store(case)
    from_snapshot = run_case(case, SnapshotCluster(store))
    check_report(case, from_snapshot)

    server = fake_kube(store)
    from_live = run_case(case, live_cluster(server.url))
    check_report(case, from_live)
    assert server.requests, "the live run read nothing from the API server"
    assert from_live["verdict"] == from_snapshot["verdict"]
    assert from_live["scheduling"] == from_snapshot["scheduling"]


@pytest.mark.parametrize("case", [c for c in CASES if "message" in expected_of(c)])
def test_message_parse(case: str) -> None:
    message = newest_failed_scheduling(load_store(case))
    assert message is not None, "the case expects a message parse but has no FailedScheduling event"
    parsed = parse(message).to_json()
    expected = expected_of(case)["message"]
    assert parsed["total_nodes"] == expected["total_nodes"]
    assert reason_pairs(parsed["reasons"]) == reason_pairs(expected["reasons"])
