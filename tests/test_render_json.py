"""The JSON report (``ask --json``): DESIGN.md's keys, golden output, robustness to odd extras."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from clusterdoc.render.json_report import (
    CORE_KEYS,
    FINDING_KEYS,
    REMEDIATION_KEYS,
    SCHEMA_VERSION,
    render_json,
    report_dict,
)
from clusterdoc.report import LAYERS, Finding, Report, Severity, Target, Verdict
from tests.render_samples import SAMPLES, check_golden, crashloop, why_pending

SEVERITIES = {"ok", "info", "warning", "critical"}


@pytest.mark.parametrize("name", ["why_pending", "crashloop"])
def test_golden_json(name: str) -> None:
    check_golden(f"{name}.json", render_json(SAMPLES[name]()) + "\n")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_design_md_keys_are_present(name: str) -> None:
    report = SAMPLES[name]()
    data = json.loads(render_json(report))
    assert data["runbook"] == report.runbook
    assert set(data["target"]) == {"kind", "namespace", "name"}
    assert set(data["verdict"]) == {"layer", "severity", "summary"}
    assert data["verdict"]["layer"] in LAYERS and data["verdict"]["severity"] in SEVERITIES
    assert len(data["findings"]) == len(report.findings)
    for finding in data["findings"]:
        assert {"step", "severity", "title", "detail"} <= set(finding)
        assert finding["severity"] in SEVERITIES
    assert isinstance(data["remediations"], list)
    for remedy in data["remediations"]:
        assert {"action", "target", "risk", "description"} <= set(remedy)
        assert remedy["risk"] in {"low", "medium", "high"}
    assert data == report_dict(report)


def test_why_pending_carries_the_scheduling_section() -> None:
    data = json.loads(render_json(why_pending()))
    scheduling = data["scheduling"]
    assert scheduling["scheduled"] is False
    assert scheduling["message"]["total_nodes"] == 5
    assert [reason["category"] for reason in scheduling["message"]["reasons"]] == [
        "insufficient_cpu",
        "untolerated_taint",
    ]
    assert [node["blocking"][0]["category"] for node in scheduling["nodes"]][:3] == [
        "insufficient_cpu",
        "insufficient_cpu",
        "untolerated_taint",
    ]
    assert scheduling["closest_fit"] == {"node": "ip-10-0-1-5", "missing": "600m cpu"}
    assert data["remediations"][0]["snippet"].startswith("# add to the pod template")


def test_scheduling_is_null_when_the_runbook_has_none() -> None:
    assert json.loads(render_json(crashloop()))["scheduling"] is None


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_key_is_always_present_with_a_schema_version(name: str) -> None:
    data = json.loads(render_json(SAMPLES[name]()))
    assert list(data)[: len(CORE_KEYS)] == list(CORE_KEYS)
    assert data["schema_version"] == SCHEMA_VERSION == 1
    for finding in data["findings"]:
        assert list(finding) == list(FINDING_KEYS)
        assert isinstance(finding["blocks"], list)
    for remedy in data["remediations"]:
        assert list(remedy) == list(REMEDIATION_KEYS)
        assert isinstance(remedy["params"], dict)
        assert remedy["snippet"] is None or remedy["snippet"].strip()


def test_an_empty_report_still_has_every_key() -> None:
    data = json.loads(render_json(Report("describe", Target("Pod", "p", "ns"), Verdict("none", Severity.OK, "ok"))))
    assert data["findings"] == [] and data["remediations"] == [] and data["scheduling"] is None
    assert data["command"] == "" and data["cluster"] == "default"


def test_cluster_scoped_target_has_a_null_namespace() -> None:
    report = Report(
        runbook="describe",
        target=Target(kind="Node", name="ip-10-0-1-5"),
        verdict=Verdict(layer="node", severity=Severity.WARNING, summary="NotReady for 4m."),
    )
    data = json.loads(render_json(report))
    assert data["target"] == {"kind": "Node", "namespace": None, "name": "ip-10-0-1-5"}
    assert data["findings"] == [] and data["remediations"] == []


def test_extra_sections_cannot_replace_core_keys(caplog: pytest.LogCaptureFixture) -> None:
    report = why_pending()
    report.extra["verdict"] = "all good"
    report.extra["findings"] = []
    with caplog.at_level(logging.WARNING, logger="clusterdoc.render.json_report"):
        data = json.loads(render_json(report))
    assert data["verdict"]["layer"] == "scheduler"
    assert len(data["findings"]) == 2
    assert "scheduling" in data
    assert "clash with core keys" in caplog.text


def test_values_json_does_not_know_are_converted() -> None:
    report = crashloop()
    report.extra["odd"] = {
        "seen": datetime(2026, 11, 27, 5, 40, tzinfo=UTC),
        "window": timedelta(minutes=5),
        "layers": {"node", "etcd"},
        "severity": Severity.CRITICAL,
        "owner": Target(kind="Deployment", name="api", namespace="shop"),
        "raw": b"\xffbytes",
        "pair": ("a", 1),
    }
    odd = json.loads(render_json(report))["odd"]
    assert odd == {
        "seen": "2026-11-27T05:40:00+00:00",
        "window": 300.0,
        "layers": ["etcd", "node"],
        "severity": "critical",
        "owner": {"kind": "Deployment", "namespace": "shop", "name": "api"},
        "raw": "\ufffdbytes",
        "pair": ["a", 1],
    }


def test_output_is_indented_and_keeps_non_ascii() -> None:
    report = crashloop()
    report.findings.append(Finding(step="events", severity=Severity.INFO, title="磁盘压力 on node-a"))
    text = render_json(report)
    assert text.startswith('{\n  "schema_version": 1,\n  "runbook": "triage",\n  "cluster": "prod-eu",')
    assert "磁盘压力 on node-a" in text
    assert not text.endswith("\n")
