"""Hand-built reports the renderer tests share: a why-pending, a crash loop, a huge one.

Each reads like what a runbook run would produce (real taint keys, real event reasons, log
lines as a container prints them) and carries the characters Slack's mrkdwn must escape.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from clusterdoc.report import (
    Facts,
    Finding,
    Preformatted,
    Remediation,
    Report,
    Severity,
    Table,
    Target,
    Text,
    Verdict,
)

POD = Target(kind="Pod", name="web-0", namespace="shop")

FAILED_SCHEDULING = (
    "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {dedicated: gpu}. "
    "preemption: 0/5 nodes are available: 2 No preemption victims found for incoming pod, "
    "3 Preemption is not helpful for scheduling."
)

TOLERATION_SNIPPET = """\
# add to the pod template of statefulset/web (spec.template.spec)
tolerations:
  - key: dedicated
    operator: Equal
    value: gpu
    effect: NoSchedule
"""


def why_pending() -> Report:
    """web-0 pending: two nodes short of CPU, three carry a GPU taint it does not tolerate."""
    nodes = Table(
        columns=("NODE", "FITS", "BLOCKING", "DETAIL"),
        rows=(
            ("ip-10-0-1-5", "no", "insufficient_cpu", "needs 2 cpu, 1.4 free"),
            ("ip-10-0-1-6", "no", "insufficient_cpu", "needs 2 cpu, 500m free"),
            ("gpu-a", "no", "untolerated_taint", "taint dedicated=gpu:NoSchedule"),
            ("gpu-b", "no", "untolerated_taint", "taint dedicated=gpu:NoSchedule"),
            ("gpu-c", "no", "untolerated_taint, insufficient_memory", "taint dedicated=gpu:NoSchedule; needs 4Gi"),
        ),
    )
    return Report(
        runbook="why-pending",
        target=POD,
        cluster="prod-eu",
        command="why-pending web-0 -n shop",
        verdict=Verdict(
            layer="scheduler",
            severity=Severity.CRITICAL,
            summary=(
                "web-0 cannot be scheduled: the 2 general nodes lack 2 free CPUs and the 3 GPU nodes "
                "carry the untolerated taint dedicated=gpu:NoSchedule."
            ),
        ),
        findings=[
            Finding(
                step="events",
                severity=Severity.WARNING,
                title="FailedScheduling (x12, last 40s ago)",
                detail=FAILED_SCHEDULING,
                blocks=[
                    Facts(
                        items=(
                            ("Pod", "shop/web-0"),
                            ("Priority", "0 (no PriorityClass)"),
                            ("Requests", "cpu 2, memory 4Gi"),
                            ("Node selector", "<none>"),
                            ("Age", "14m"),
                        )
                    ),
                ],
            ),
            Finding(
                step="scheduling",
                severity=Severity.CRITICAL,
                title="No node fits web-0 (5 nodes checked)",
                detail="Per-node fit, in kube-scheduler's filter order:",
                blocks=[
                    nodes,
                    Text(text="Closest fit: ip-10-0-1-5 — 600m cpu short; nothing else blocks."),
                    Text(text="The computed counts agree with the scheduler's message (2 cpu, 3 taint)."),
                ],
            ),
        ],
        remediations=[
            Remediation(
                action="snippet",
                target=Target(kind="StatefulSet", name="web", namespace="shop"),
                risk="low",
                description="Tolerate the GPU taint if web-0 may run on GPU nodes",
                snippet=TOLERATION_SNIPPET,
            ),
            Remediation(
                action="scale_deployment",
                target=Target(kind="Deployment", name="batch-report", namespace="shop"),
                risk="medium",
                description="Free CPU on ip-10-0-1-5 by scaling down batch-report (uses 1.2 cpu & 3Gi)",
                params={"replicas": 0},
            ),
        ],
        extra={
            "scheduling": {
                "scheduled": False,
                "message": {
                    "total_nodes": 5,
                    "reasons": [
                        {"category": "insufficient_cpu", "nodes": 2},
                        {"category": "untolerated_taint", "nodes": 3, "detail": "{dedicated: gpu}"},
                    ],
                },
                "nodes": [
                    {
                        "name": name,
                        "fits": False,
                        "blocking": [{"category": category.split(",")[0], "detail": detail}],
                    }
                    for name, _, category, detail in nodes.rows
                ],
                "closest_fit": {"node": "ip-10-0-1-5", "missing": "600m cpu"},
            }
        },
    )


CRASH_LOG = """\
2026-11-27T05:40:01.112Z INFO  starting api v2.14.1 (commit 9f2c1ab)
2026-11-27T05:40:01.315Z INFO  loading config from /etc/api/config.yaml
2026-11-27T05:40:01.402Z WARN  env DATABASE_POOL unset, using default pool size 10
2026-11-27T05:40:02.007Z ERROR connect to postgres://orders-db.shop.svc:5432/orders failed: \
dial tcp 10.96.14.7:5432: connect: connection refused
2026-11-27T05:40:02.008Z ERROR upstream answered <html><body>502 Bad Gateway</body></html> \
for GET /health?deep=1&verbose=1
2026-11-27T05:40:02.009Z FATAL giving up after 3 attempts; exit code 1
"""


IMAGE = "ghcr.io/acme/api:v2.14.1"


def crashloop() -> Report:
    """api-7d9f5c-x2x9q restarts every few minutes: its database refuses connections."""
    target = Target(kind="Pod", name="api-7d9f5c-x2x9q", namespace="shop")
    return Report(
        runbook="triage",
        target=target,
        cluster="prod-eu",
        command="triage api-7d9f5c-x2x9q -n shop",
        verdict=Verdict(
            layer="workload",
            severity=Severity.CRITICAL,
            summary="Container api is crash-looping (14 restarts, exit code 1): it cannot reach orders-db:5432.",
        ),
        findings=[
            Finding(
                step="describe",
                severity=Severity.CRITICAL,
                title="Container api: CrashLoopBackOff",
                detail="Back-off restarting failed container api in pod api-7d9f5c-x2x9q_shop",
                blocks=[
                    Facts(
                        items=(
                            ("Container", "api (ghcr.io/acme/api:v2.14.1)"),
                            ("State", "Waiting: CrashLoopBackOff"),
                            ("Restarts", "14"),
                            ("Last termination", "Error, exit code 1, 05:40:02 (ran 1s)"),
                            ("Requests / limits", "cpu 250m / 1, memory 256Mi / 512Mi"),
                            ("Node", "ip-10-0-1-5"),
                        )
                    ),
                    Preformatted(text=CRASH_LOG, language="log", title="Last log lines of api (previous instance)"),
                ],
            ),
            Finding(
                step="events",
                severity=Severity.WARNING,
                title="Events (newest first)",
                blocks=[
                    Table(
                        columns=("LAST SEEN", "TYPE", "REASON", "COUNT", "MESSAGE"),
                        rows=(
                            ("40s", "Warning", "BackOff", "61", "Back-off restarting failed container api in pod"),
                            ("3m", "Normal", "Pulled", "14", f'Container image "{IMAGE}" already present'),
                            ("52m", "Normal", "Scheduled", "1", f"Successfully assigned {target.ref()} to ip-10-0-1-5"),
                        ),
                    )
                ],
            ),
            Finding(
                step="metrics",
                severity=Severity.INFO,
                title="Step metrics failed",
                detail="Prometheus at http://prometheus.monitoring:9090 did not answer within 5s.",
                error_id="e-7f3a91",
            ),
        ],
        remediations=[
            Remediation(
                action="rollback_deployment",
                target=Target(kind="Deployment", name="api", namespace="shop"),
                risk="medium",
                description="Roll deploy/api back to revision 41 (v2.13.0), the last one that ran",
                params={"revision": 41},
            )
        ],
    )


def huge_log(chars: int = 20_000) -> str:
    """Deterministic log text of at least ``chars`` characters, one request per line."""
    lines: list[str] = []
    size = 0
    index = 0
    while size < chars:
        line = (
            f"2026-11-27T05:{index // 60 % 60:02d}:{index % 60:02d}.{index % 1000:03d}Z INFO request served "
            f"method=GET path=/api/v1/items/{index} status={200 if index % 17 else 503} duration_ms={index % 97}"
        )
        lines.append(line)
        size += len(line) + 1
        index += 1
    return "\n".join(lines)


def huge_table(rows: int = 300) -> Table:
    """A per-node table of ``rows`` nodes, the kind why-pending builds on a big cluster."""
    zones = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
    return Table(
        columns=("NODE", "ZONE", "CPU FREE", "MEMORY FREE", "BLOCKING"),
        rows=tuple(
            (
                f"ip-10-0-{i // 250}-{i % 250 + 1}",
                zones[i % 3],
                f"{(i * 37) % 4000}m",
                f"{(i * 53) % 16}Gi",
                "untolerated_taint: dedicated=batch:NoSchedule" if i % 4 == 0 else "insufficient_cpu",
            )
            for i in range(rows)
        ),
    )


def huge() -> Report:
    """A report far beyond one Slack message: 300 table rows and a 20,000-character log."""
    return Report(
        runbook="why-pending",
        target=Target(kind="Deployment", name="batch", namespace="jobs"),
        cluster="prod-us",
        command="why-pending deploy/batch -n jobs",
        verdict=Verdict(
            layer="scheduler",
            severity=Severity.WARNING,
            summary="40 pods of deploy/batch cannot be scheduled: no node has 2 free CPUs.",
        ),
        findings=[
            Finding(
                step="scheduling",
                severity=Severity.WARNING,
                title="Per-node fit (300 nodes)",
                detail="Every node rejects the pod; grouped causes are listed below the table.",
                blocks=[huge_table()],
            ),
            Finding(
                step="logs",
                severity=Severity.INFO,
                title="Logs of the cluster autoscaler",
                blocks=[Preformatted(text=huge_log(), language="log", title="cluster-autoscaler logs")],
            ),
            *[
                Finding(
                    step="events",
                    severity=Severity.INFO,
                    title=f"NotTriggerScaleUp on batch-{i}",
                    detail="pod didn't trigger scale-up: 3 max node group size reached",
                    blocks=[Facts(items=(("Pod", f"jobs/batch-{i}"), ("Seen", f"{i + 1}m ago")))],
                )
                for i in range(30)
            ],
        ],
    )


SAMPLES = {"why_pending": why_pending, "crashloop": crashloop, "huge": huge}


GOLDEN_DIR = Path(__file__).parent / "golden" / "render"
UPDATE_ENV = "CLUSTERDOC_UPDATE_GOLDEN"


def check_golden(name: str, actual: str) -> None:
    """Compare ``actual`` with ``tests/golden/render/<name>``; ``CLUSTERDOC_UPDATE_GOLDEN=1`` rewrites it."""
    path = GOLDEN_DIR / name
    if os.environ.get(UPDATE_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"golden file {path} is missing; run with {UPDATE_ENV}=1 and review it"
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True), actual.splitlines(keepends=True), "golden", "actual", n=2
            )
        )
        raise AssertionError(f"{name} differs from its golden file (review, then {UPDATE_ENV}=1):\n{diff[:6000]}")


def primary_step_report() -> Report:
    return Report(
        "why-pending", Target("Pod", "web-0", "shop"), Verdict("scheduler", Severity.WARNING, "cannot be scheduled"),
        findings=[Finding("scheduling", Severity.WARNING, "Nodes by cause"),
                  Finding("describe", Severity.WARNING, "Pod status Pending"),
                  Finding("events", Severity.WARNING, "FailedScheduling events")],
        remediations=[Remediation("snippet", Target("StatefulSet", "web", "shop"), "medium", "Tolerate the taint",
                                  snippet="tolerations: []")],
        primary_step="scheduling",
    )
