"""Issue 10 item 7: audit lines are written whatever the log level; the audit stream has a retention.

The log test runs a separate Python process configured exactly as ``serve``/``worker`` configure
logging by default (WARNING, no ``-v``) and one with no logging configured at all, against the
real Redis, and reads what it wrote to stderr.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from redis import Redis

from clusterdoc.approvals.audit import MAX_AGE_DAYS, STREAM, AuditLog
from clusterdoc.approvals.pending import PendingAction
from clusterdoc.report import Target
from tests.harness.processes import REPO_ROOT

SCRIPT = """
import logging, sys
from redis import Redis
{setup}
from clusterdoc.approvals.audit import AuditLog
from clusterdoc.approvals.pending import PendingAction
from clusterdoc.report import Target
pending = PendingAction(id="p1", action="delete_pod", target=Target("Pod", "api-0", "shop"), risk="low",
                        description="d", cluster="prod", channel="C1", requester="U1", created_at=0, expires_at=1)
AuditLog(Redis.from_url(sys.argv[1])).record("approved", pending, actor="U2", approvers=["U2"], rule="sre")
logging.getLogger("clusterdoc.other").info("this ordinary INFO line stays hidden")
"""


@pytest.mark.parametrize("setup", [
    'logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")',
    "",
    "from clusterdoc.logs import setup_logging\n"
    "setup_logging(environ={'CLUSTERDOC_LOG_LEVEL': 'ERROR', 'CLUSTERDOC_LOG_FORMAT': 'json'})",
], ids=["warning-level-like-serve", "no-logging-configured", "json-logs-at-error-level"])
def test_audit_line_written_whatever_the_level(redis_url: str, setup: str) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(setup=setup), redis_url], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [line.replace('\\"', '"') for line in done.stderr.splitlines() if "approved" in line]
    assert len(lines) == 1, done.stderr
    assert '"audit": "approved"' in lines[0]
    assert '"pending_id": "p1"' in lines[0] and '"actor": "U2"' in lines[0]
    assert "ordinary INFO line" not in done.stderr


def test_audit_stream_is_trimmed_by_age(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    old_ms = int((time.time() - (MAX_AGE_DAYS + 1) * 86400) * 1000)
    for n in range(3):
        redis.xadd(STREAM, {"event": "approved"}, id=f"{old_ms + n}-0")
    pending = PendingAction(id="p2", action="cordon_node", target=Target("Node", "n1"), risk="low", description="d",
                            cluster="prod", channel="C1", requester="U1", created_at=0, expires_at=1)
    AuditLog(redis).record("requested", pending)
    assert [e.pending_id for e in AuditLog(redis).latest(10)] == ["p2"]
    assert redis.xlen(STREAM) == 1
