"""Why-pending under the REAL kube-scheduler: it writes the FailedScheduling message, clusterdoc reads it.

Every golden case whose pod the scheduler turns away (``case: not_scheduled``) is replayed as API
objects in the session's control plane (:mod:`tests.harness.scenario_replay`); kube-scheduler
tries the pod and posts its own ``FailedScheduling`` event; clusterdoc's live why-pending runbook
then reads the cluster through the real API server and must reconcile its per-node analysis with
that real message, category by category. A disagreement is a bug in one of the two readings.
The count of agreeing cases is printed (run pytest with ``-s``) and written to
``$CLUSTERDOC_REAL_SCHEDULER_REPORT`` when that variable names a file.

Cases are replayed one after the other: the scheduler's ``0/N nodes`` counts every node in the
cluster, so each case starts from no nodes at all.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from clusterdoc.queue import DiagnosisRequest
from clusterdoc.report import Target
from clusterdoc.workers.cluster.live import LiveCluster, load_configuration
from clusterdoc.workers.runbook.engine import run_request
from clusterdoc.workers.runbook.loader import Catalogue
from clusterdoc.workers.scheduling.message import parse
from tests.harness.control_plane import ControlPlane
from tests.harness.kube_rest import KubeRest
from tests.harness.scenario_replay import Replay, parse_time
from tests.test_why_pending_golden import CASES, GOLDEN, expected_of

_DRA = ("the replay does not create DRA objects (DeviceClasses, ResourceSlices, ResourceClaims and templates) and "
        "the control plane runs no resourceclaim controller or driver")
NOT_REPLAYED = {
    **{case: _DRA for case in (
        "dra-claims-unmodelled-plugin", "dra-claim-not-created-template-missing", "dra-device-class-missing",
        "dra-driver-no-slices-on-node", "dra-no-device-matches-selector", "dra-shared-claim-allocated-on-other-node",
        "dra-shared-claim-reserved-256-times", "dra-template-claim-all-gpus-allocated",
        "dra-first-available-falls-back")},
    "volume-binding-pvs-not-bindable": "the replay cannot carry a PV's status phase or its claimRef's UID (the API "
                                       "server assigns new UIDs; the PV controller sets phases)",
    "volume-binding-selected-node-elsewhere": "the replay drops the PV controller's annotations, "
                                              "volume.kubernetes.io/selected-node among them",
    "volume-zone-ephemeral-and-unparseable-labels": "the ephemeral volume's PVC names its pod by UID in its "
                                                    "ownerReference, which the replay cannot keep (the real scheduler "
                                                    "then says, rightly, 'pod is not owner')",
    "node-affinity-invalid-label-value": "kube-apiserver 1.37 refuses such a pod at creation (422: a node affinity "
                                         "value must be a valid label value); the case is a pod admitted by an older "
                                         "API server",
}
"""not_scheduled cases not replayed, and why."""
NOT_SCHEDULED = [case for case in CASES if expected_of(case)["case"] == "not_scheduled" and case not in NOT_REPLAYED]
RESULTS: dict[str, dict[str, Any]] = {}
"""case -> what happened, for the summary (filled by the parametrized test, read by the last one)."""


@pytest.fixture(scope="module")
def live(control_plane: ControlPlane, kube_admin: KubeRest) -> Iterator[LiveCluster]:
    """clusterdoc's own live backend with the admin kubeconfig; no other test's nodes in the way."""
    for node in kube_admin.list("v1", "Node")["items"]:
        kube_admin.delete("v1", "Node", node["metadata"]["name"])
    yield LiveCluster(load_configuration(str(control_plane.kubeconfig())), "real")


def category_counts(reasons: list[dict[str, Any]]) -> dict[str, int | None]:
    return {reason["category"]: reason["nodes"] for reason in reasons}


@pytest.mark.parametrize("case", NOT_SCHEDULED)
def test_real_scheduler_message_reconciles(case: str, kube_admin: KubeRest, live: LiveCluster) -> None:
    expected = expected_of(case)
    snapshot = yaml.safe_load((GOLDEN / case / "snapshot.yaml").read_text(encoding="utf-8"))
    target = expected["target"]
    replay = Replay(kube_admin, snapshot["items"], parse_time(expected["now"]))
    namespace, pod = replay.pod_to_diagnose(target["kind"], target["namespace"], target["name"])
    replay.target = (namespace, pod)
    try:
        replay.create()
        message = replay.wait_for_failed_scheduling(namespace, pod)
        assert message is not None, f"kube-scheduler wrote no FailedScheduling for {pod} counting " \
                                    f"{len(replay.nodes())} nodes"
        request = DiagnosisRequest(verb="why-pending", runbook="why-pending", target=Target("Pod", pod, namespace))
        report = run_request(Catalogue.load(), request, live, now=datetime.now(UTC)).to_json()
    finally:
        replay.remove()

    scheduling = report.get("scheduling") or {}
    reconciliation = scheduling.get("reconciliation") or {}
    parsed = parse(message).to_json()
    computed = {node["name"]: sorted({b["category"] for b in node.get("blocking") or []})
                for node in scheduling.get("nodes") or []}
    RESULTS[case] = {
        "message": message,
        "parsed": category_counts(parsed["reasons"]),
        "agrees": bool(reconciliation.get("agrees")),
        "differences": reconciliation.get("differences"),
        "nodes": computed,
    }
    assert scheduling.get("case") == "not_scheduled", report["verdict"]
    assert "other" not in RESULTS[case]["parsed"], f"clusterdoc could not read part of the real message: {message}"
    assert reconciliation.get("agrees") is True, f"{message}\n{json.dumps(reconciliation, indent=1)}"
    if "nodes" in expected:
        wanted = {name: sorted(categories) for name, categories in expected["nodes"].items()}
        assert computed == wanted, "the replayed cluster reads differently from its snapshot"


def test_summary_of_agreement() -> None:
    """Print (and optionally write) how many cases the real scheduler and clusterdoc agree on."""
    agreeing = sorted(case for case, result in RESULTS.items() if result["agrees"])
    lines = [f"real kube-scheduler: {len(agreeing)} of {len(RESULTS)} replayed why-pending cases agree "
             f"({len(NOT_SCHEDULED) + len(NOT_REPLAYED)} not_scheduled cases in the catalogue, "
             f"{len(NOT_REPLAYED)} not replayed: {', '.join(sorted(NOT_REPLAYED))})"]
    for case, result in sorted(RESULTS.items()):
        lines.append(f"  {'agree' if result['agrees'] else 'DIFFER'}  {case}: {result['message']}")
        if not result["agrees"]:
            lines.extend(f"           {difference}" for difference in result["differences"] or [])
    print("\n" + "\n".join(lines))
    target = os.environ.get("CLUSTERDOC_REAL_SCHEDULER_REPORT")
    if target:
        with open(target, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
