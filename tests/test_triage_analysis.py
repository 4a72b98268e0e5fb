"""The pure triage analysis as tables: the verdict across layers, onsets, quorum, version skew."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from clusterdoc.workers.etcd_client import Member, MemberStatus, Survey
from clusterdoc.workers.triage import control_plane as cp
from clusterdoc.workers.triage import etcd as etcd_view
from clusterdoc.workers.triage.presets import PRESET_BY_NAME
from clusterdoc.workers.triage.signals import Series, fmt, judge, sparkline
from clusterdoc.workers.triage.verdict import LayerRow, decide


def rows(**statuses: str) -> list[LayerRow]:
    layers = ("apiserver", "etcd", "controller", "scheduler", "node")
    return [LayerRow(layer, statuses.get(layer, "ok"), f"{layer} figure", [f"{layer} evidence"]  # type: ignore[arg-type]
                     if statuses.get(layer, "ok") in ("warning", "critical") else [],
                     [f"{layer}: Prometheus is down"] if statuses.get(layer, "ok") == "unseen" else [])
            for layer in layers]


@pytest.mark.parametrize(("statuses", "layer", "words"), [
    ({}, "none", "No layer looks broken"),
    ({"etcd": "critical", "apiserver": "warning"}, "etcd", "API server red as an effect"),
    ({"etcd": "warning", "apiserver": "critical"}, "etcd", "effect"),
    ({"apiserver": "warning", "node": "critical"}, "node", "nodes"),
    ({"node": "critical", "scheduler": "critical"}, "node", "scheduler red as an effect"),
    ({"controller": "critical", "scheduler": "warning"}, "controller", "effect"),
    ({"apiserver": "unseen", "etcd": "unseen"}, "unknown", "Too little could be seen"),
    ({"controller": "unseen", "scheduler": "unseen", "node": "unseen"}, "unknown", "Too little"),
    ({"etcd": "unseen"}, "none", "could not see etcd (Prometheus is down)"),
    ({"node": "unfinished", "scheduler": "critical"}, "scheduler", "scheduler"),
    ({"apiserver": "unfinished", "controller": "unfinished", "scheduler": "unfinished", "node": "unfinished"},
     "apiserver", "no check that reads it finished"),
], ids=["healthy", "etcd-causes-apiserver", "warning-etcd-still-causes-apiserver", "upstream-less-severe",
        "nodes-starve-scheduler", "controller-before-scheduler", "blind-core", "blind-three", "partial",
        "unfinished-row", "api-server-hangs"])
def test_decide(statuses: dict[str, str], layer: str, words: str) -> None:
    decision = decide(rows(**statuses))
    assert decision.layer == layer
    assert words in decision.summary + " ".join(decision.reasoning)


def test_less_severe_upstream_layer_is_named_as_a_contributor() -> None:
    decision = decide(rows(apiserver="warning", node="critical"))
    assert any("less severe" in line for line in decision.reasoning)


def test_onset_before_value_and_carrier() -> None:
    end = datetime(2026, 3, 2, 13, 20, tzinfo=UTC).timestamp()
    points = tuple((end - 3600 + i * 60, 0.002 if i < 42 else 0.21) for i in range(61))
    judgement = judge(PRESET_BY_NAME["etcd-fsync"], [Series({"instance": "m1"}, points)], end)
    breach = judgement.breaches[0]
    assert (breach.before, breach.value, breach.severity) == (0.002, 0.21, "critical")
    assert breach.sentence(end) == ("etcd WAL fsync p99 on instance=m1: 2.0 ms → 210 ms at 13:02 UTC, 18m ago "
                                    "(critical > 100 ms)")


@pytest.mark.parametrize(("value", "unit", "text"), [
    (0.0021, "seconds", "2.1 ms"), (0.21, "seconds", "210 ms"), (15.9, "seconds", "15.9 s"),
    (0.012, "ratio", "1.2 %"), (1.5 * 1024**3, "bytes", "1.5Gi"), (450, "count", "450"),
])
def test_fmt(value: float, unit: str, text: str) -> None:
    assert fmt(value, unit) == text  # type: ignore[arg-type]


def test_sparkline_shows_the_step() -> None:
    assert sparkline([1, 1, 1, 1, 9, 9]) == "▁▁▁▁██"


def status(endpoint: str, member: str, leader: str, size: int = 100, in_use: int = 100, error: str = "",
           index: int = 10) -> MemberStatus:
    if error:
        return MemberStatus(endpoint, error=error)
    return MemberStatus(endpoint, member, member, "3.5.9", size, in_use, leader, 2, index)


def test_quorum_and_follower_first_defrag() -> None:
    mib = 1024**2
    survey = Survey([status("a", "1", "1", 400 * mib, 100 * mib), status("b", "2", "1", 300 * mib, 100 * mib),
                     status("c", "3", "", error="cannot reach")],
                    [Member("1", "m1", ("a",)), Member("2", "m2", ("b",)), Member("3", "m3", ("c",))])
    view = etcd_view.view(survey)
    assert (view.members, view.quorum, view.can_fail, view.leader_name) == (3, 2, 0, "m1")
    candidate = view.defrag_candidate()
    assert candidate is not None and candidate.endpoint == "b"  # the leader is more fragmented, but not first


def test_etcd_version_for_kubernetes() -> None:
    assert etcd_view.version_problem("3.4.30", 22)
    assert etcd_view.version_problem("3.5.9", 31) is None
    assert etcd_view.version_problem("3.4.30", 21) is None


@pytest.mark.parametrize(("api", "kcm", "kubelets", "expected"), [
    ("v1.31.2", ["v1.31.0"], {"n": "v1.28.1"}, []),
    ("v1.31.2", ["v1.32.0"], {}, ["kube-controller-manager v1.32.0 is newer than the API server v1.31.2"]),
    ("v1.31.2", ["v1.29.0"], {}, ["kube-controller-manager v1.29.0 is more than one minor older"]),
    ("v1.31.2", [], {"n": "v1.27.3"}, ["kubelet v1.27.3 on 1 node(s), e.g. n is more than 3 minors older"]),
    ("v1.27.2", [], {"n": "v1.24.3"}, ["kubelet v1.24.3 on 1 node(s), e.g. n is more than 2 minors older"]),
    ("v1.27.2", [], {"n": "v1.28.0"}, ["kubelet v1.28.0 on 1 node(s), e.g. n is newer than the API server"]),
], ids=["within-policy", "kcm-newer", "kcm-two-older", "kubelet-four-older", "kubelet-three-older-pre-1.28",
        "kubelet-newer"])
def test_version_skew(api: str, kcm: list[str], kubelets: dict[str, str], expected: list[str]) -> None:
    problems = [p.message for p in cp.version_skew(api, kcm, [], kubelets)]
    assert len(problems) == len(expected)
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start)
