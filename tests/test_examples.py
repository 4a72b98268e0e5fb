"""The demo scenarios in ``examples/``: well-formed, internally consistent, and diagnosed as the story says."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from clusterdoc.bot.commands import parse_command
from clusterdoc.humanize import parse_time
from clusterdoc.queue import DiagnosisRequest
from clusterdoc.report import Report, Severity, Target
from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.cluster.snapshot import SnapshotCluster, SnapshotStore
from clusterdoc.workers.runbook.engine import run_request
from clusterdoc.workers.runbook.loader import Catalogue

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCENARIOS: list[dict[str, Any]] = yaml.safe_load((EXAMPLES / "scenarios.yaml").read_text(encoding="utf-8"))
SCENARIO_IDS = [s["name"] for s in SCENARIOS]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
EXPECTED_LAYER = {"taint-pending": "scheduler", "crashloop": "workload", "node-notready": "node"}


def scenario(name: str) -> dict[str, Any]:
    return next(s for s in SCENARIOS if s["name"] == name)


def now_of(entry: dict[str, Any]) -> datetime:
    parsed = parse_time(entry["now"])
    assert parsed is not None
    return parsed


def store_of(entry: dict[str, Any]) -> SnapshotStore:
    return SnapshotStore.load(EXAMPLES / entry["snapshot"])


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def all_objects(store: SnapshotStore) -> list[Obj]:
    return [obj for objects in store.by_kind.values() for obj in objects]


def test_scenarios_file_lists_the_three_required_stories() -> None:
    assert set(SCENARIO_IDS) >= {"taint-pending", "crashloop", "node-notready"}
    assert len(SCENARIO_IDS) == len(set(SCENARIO_IDS))
    for entry in SCENARIOS:
        assert set(entry) == {"name", "title", "snapshot", "command", "now"}, entry["name"]
        assert (EXAMPLES / entry["snapshot"]).is_dir(), entry["snapshot"]
        assert TIMESTAMP.match(entry["now"]), entry["now"]
        assert not entry["command"].startswith("/k8s")


@pytest.mark.parametrize("entry", SCENARIOS, ids=SCENARIO_IDS)
def test_snapshot_looks_like_kubectl_output(entry: dict[str, Any]) -> None:
    folder = EXAMPLES / entry["snapshot"]
    for file in folder.glob("*.yaml"):
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
        assert document["apiVersion"] == "v1" and document["kind"] == "List", file
    store = store_of(entry)
    for kind in ("Node", "Pod", "Event", "Lease", "StorageClass", "Deployment", "ReplicaSet"):
        assert store.by_kind.get(kind), f"{entry['name']}: no {kind}"
    for obj in all_objects(store):
        assert "managedFields" not in obj["metadata"]
        assert obj["metadata"].get("uid") and obj["metadata"].get("creationTimestamp"), obj["metadata"]["name"]
    for node in store.by_kind["Node"]:
        status = node["status"]
        assert {"cpu", "memory", "pods"} <= set(status["allocatable"]) <= set(status["capacity"])
        assert {c["type"] for c in status["conditions"]} >= {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}
        assert status["nodeInfo"]["kubeletVersion"].startswith("v1.")


@pytest.mark.parametrize("entry", SCENARIOS, ids=SCENARIO_IDS)
def test_no_timestamp_is_after_the_scenario_now(entry: dict[str, Any]) -> None:
    now = now_of(entry)
    for obj in all_objects(store_of(entry)):
        for path, value in strings(obj):
            if TIMESTAMP.match(value):
                when = parse_time(value)
                assert when is not None and when <= now, f"{obj['kind']} {obj['metadata']['name']}{path} = {value}"


@pytest.mark.parametrize("entry", SCENARIOS, ids=SCENARIO_IDS)
def test_owner_references_and_event_subjects_resolve_with_matching_uids(entry: dict[str, Any]) -> None:
    store = store_of(entry)
    index = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in all_objects(store)}
    for obj in all_objects(store):
        for owner in obj["metadata"].get("ownerReferences") or []:
            namespace = None if owner["kind"] == "Node" else obj["metadata"].get("namespace")
            target = index.get((owner["kind"], namespace, owner["name"]))
            assert target is not None, f"{obj['metadata']['name']} → {owner['kind']} {owner['name']}"
            assert target["metadata"]["uid"] == owner["uid"]
    for event in store.by_kind["Event"]:
        involved = event["involvedObject"]
        target = index.get((involved["kind"], involved.get("namespace"), involved["name"]))
        assert target is not None, involved
        # the node controller names a Node by its name in place of a uid, as real clusters show
        assert involved["uid"] in (target["metadata"]["uid"], target["metadata"]["name"])


def test_taint_pending_story_is_consistent() -> None:
    store = store_of(scenario("taint-pending"))
    pod = store.get("Pod", "web-0", "shop")
    scheduled = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
    failed = [e for e in store.by_kind["Event"] if e["reason"] == "FailedScheduling"]
    assert scheduled["reason"] == "Unschedulable" and len(failed) == 1
    assert failed[0]["message"] == scheduled["message"]
    assert scheduled["message"].startswith(f"0/{len(store.by_kind['Node'])} nodes are available: ")
    taints = sorted(t["key"] for n in store.by_kind["Node"] for t in n["spec"].get("taints") or [])
    assert taints == ["dedicated", "dedicated", "dedicated", "node-role.kubernetes.io/control-plane"]
    assert not any(t.get("key") == "dedicated" for t in pod["spec"]["tolerations"])


def test_crashloop_story_has_a_previous_log() -> None:
    entry = scenario("crashloop")
    cluster = SnapshotCluster.from_path(EXAMPLES / entry["snapshot"])
    pod = cluster.get("Pod", "api-6d8f7b9c54-x2x7k", "shop")
    status = pod["status"]["containerStatuses"][0]
    assert status["restartCount"] == 12
    assert status["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert status["lastState"]["terminated"]["exitCode"] == 137
    log = cluster.logs("shop", pod["metadata"]["name"], "api", previous=True, tail_lines=3)
    assert len(log.splitlines()) == 3 and "heap_mb" in log


def test_node_notready_story_has_a_stale_lease_and_fresh_ones_elsewhere() -> None:
    entry = scenario("node-notready")
    store, now = store_of(entry), now_of(entry)
    ages = {}
    for lease in store.by_kind["Lease"]:
        if lease["metadata"]["namespace"] == "kube-node-lease":
            renewed = parse_time(lease["spec"]["renewTime"])
            assert renewed is not None
            ages[lease["metadata"]["name"]] = (now - renewed).total_seconds()
    assert ages.pop("ip-10-0-1-5") > 40
    assert ages and all(age < 40 for age in ages.values())
    pods_on_node = [p for p in store.by_kind["Pod"] if p["spec"].get("nodeName") == "ip-10-0-1-5"]
    assert len(pods_on_node) == 4


def _run(entry: dict[str, Any], command: str) -> Report:
    catalogue = Catalogue.load()
    parsed = parse_command(command, default_cluster="demo", catalogue=catalogue)
    if parsed.request is None:
        pytest.skip(f"{command!r}: {parsed.reply}")
    cluster = SnapshotCluster.from_path(EXAMPLES / entry["snapshot"])
    return run_request(catalogue, parsed.request, cluster, now_of(entry))


@pytest.mark.parametrize("entry", SCENARIOS, ids=SCENARIO_IDS)
def test_describing_the_scenario_target_finds_the_expected_layer(entry: dict[str, Any]) -> None:
    words = entry["command"].split()
    _verb, target, *rest = words[1:] if words[0] == "run" else words  # `run RUNBOOK TARGET ...`
    report = _run(entry, " ".join(["describe", target, *rest]))
    assert report.verdict.layer == EXPECTED_LAYER[entry["name"]], report.verdict
    assert report.verdict.severity.rank >= Severity.WARNING.rank
    assert [f.step for f in report.findings][-1] == "events"


@pytest.mark.parametrize("entry", SCENARIOS, ids=SCENARIO_IDS)
def test_the_scenario_command_runs_on_its_snapshot(entry: dict[str, Any]) -> None:
    report = _run(entry, entry["command"])
    assert report.findings and report.findings[0].step != "target", report.findings[0].title
    assert report.verdict.layer == EXPECTED_LAYER[entry["name"]]


def test_a_request_for_a_missing_pod_in_a_demo_snapshot_lists_close_matches() -> None:
    entry = scenario("taint-pending")
    cluster = SnapshotCluster.from_path(EXAMPLES / entry["snapshot"])
    request = DiagnosisRequest("describe", "describe", Target("Pod", "web-1", "shop"))
    report = run_request(Catalogue.load(), request, cluster, now_of(entry))
    assert report.findings[0].title == "pod web-1 not found in namespace shop"
    assert "web-0" in report.findings[0].detail


def _clusterdoc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed ``clusterdoc`` console script, run as a person runs it (no repo on the path)."""
    script = shutil.which("clusterdoc", path=str(Path(sys.executable).parent))
    assert script is not None, "the clusterdoc console script is not installed beside this Python"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SLACK_", "CLUSTERDOC_", "KUBECONFIG", "PYTHONPATH"))}
    return subprocess.run([script, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_demo_prints_the_three_reports_from_any_directory(tmp_path: Path) -> None:
    result = _clusterdoc("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    for entry in SCENARIOS:
        assert f"━━ {entry['title']} ━━" in out
        assert f"$ /k8s {entry['command']}" in out
    words = " ".join(out.split())  # the terminal renderer wraps long lines
    assert "untolerated taint dedicated=gpu:NoSchedule" in words  # taint-pending: the verdict names the taint
    assert "is OOMKilled: it needs more memory than its limit 256Mi" in words  # crashloop
    assert "rollback_deployment" in words  # ... with the rollback to approve
    assert "Node ip-10-0-1-5 is NotReady" in words  # node-notready
    assert "\x1b[" not in out  # not a TTY: no colour codes


def test_ask_json_prints_the_report_of_design_md(tmp_path: Path) -> None:
    entry = scenario("taint-pending")
    result = _clusterdoc("ask", "--json", "--snapshot", str(EXAMPLES / entry["snapshot"]), "--now", entry["now"],
                         entry["command"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["runbook"] == "why-pending"
    assert report["target"] == {"kind": "Pod", "namespace": "shop", "name": "web-0"}
    assert report["verdict"]["layer"] == "scheduler"
    assert "dedicated=gpu:NoSchedule" in report["verdict"]["summary"]


@pytest.mark.parametrize(
    ("command", "status", "expected"),
    [
        ("describe po/nope -n shop", 1, "pod nope not found in namespace shop"),
        ("describe api-6d8f7b9c54 -n shop", 1, "Close matches: api-6d8f7b9c54-x2x7k"),
        ("describe foo/bar -n shop", 2, "Unknown kind `foo` in `foo/bar`"),
        ("describe deploy/api -n Bad_NS", 2, "Invalid namespace name `Bad_NS`"),
        ("run describe x=1", 2, "`run` needs a target"),
        ("run describe deploy/api -n shop max_lines=5", 2, "max_lines: Input should be greater than or equal to 10"),
        ("health", 0, "Too little could be seen to name a layer"),
        ("runbooks", 0, "`describe` — Describe an object and its recent events"),
    ],
    ids=["unknown-pod", "close-match", "unknown-kind", "bad-namespace", "run-without-target", "step-param-rule",
         "health-without-prometheus-or-etcd", "runbooks"],
)
def test_ask_answers_bad_and_good_commands_plainly(tmp_path: Path, command: str, status: int, expected: str) -> None:
    entry = scenario("crashloop")
    result = _clusterdoc("ask", "--snapshot", str(EXAMPLES / entry["snapshot"]), "--now", entry["now"], command,
                         cwd=tmp_path)
    assert result.returncode == status, result.stdout + result.stderr
    assert expected in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
