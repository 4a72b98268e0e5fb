"""From slash command to executed fix, through the real Bolt app, real Redis and an RQ worker.

``/k8s why-pending web-0`` on a cluster whose only node is cordoned: the worker posts the report
and an ``uncordon_node`` offer with buttons into the thread; signed ``block_actions`` clicks
are acknowledged at once and queued on the cluster's queue; the worker decides and runs the fix.
The policy comes from ``CLUSTERDOC_CONFIG``; the fake API server records the writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from redis import Redis
from starlette.testclient import TestClient

from clusterdoc.approvals.audit import AuditLog
from clusterdoc.approvals.blocks import APPROVE_ACTION_ID
from clusterdoc.bot.server import build
from clusterdoc.config import Settings, load_settings
from clusterdoc.queue import named_queue, worker_for
from clusterdoc.workers.process import prepare_worker
from tests.harness.fake_kube import FakeKubeServer, live_cluster, write_kubeconfig
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.kube_mutations import MutationEngine, install
from tests.harness.processes import wait_until
from tests.harness.signing import signed_headers, slash_command_body

SECRET = "approvals-signing-secret-0123456789"
SNAPSHOT = Path(__file__).parent / "data" / "remediation" / "cordoned-pending.yaml"
CHANNEL = "C123"
POLICY = """
approvals:
  open_risks: []
  rules:
    - name: sre-on-call
      users: [U_SRE]
"""


class Stack:
    def __init__(self, client: TestClient, settings: Settings, slack: FakeSlackServer, kube: FakeKubeServer,
                 writes: MutationEngine) -> None:
        self.client, self.settings, self.slack, self.kube, self.writes = client, settings, slack, kube, writes
        self.redis = Redis.from_url(settings.REDIS_URL)

    def slash(self, text: str, user: str = "U123") -> int:
        return self.slash_answer(text, user)[0]

    def slash_answer(self, text: str, user: str = "U123") -> tuple[int, str]:
        body = slash_command_body(text=text, channel_id=CHANNEL, user_id=user,
                                  response_url=self.slack.response_url())
        answer = self.client.post("/slack/events", content=body, headers=signed_headers(SECRET, body))
        return answer.status_code, answer.json().get("text", "") if answer.content else ""

    def click(self, pending_id: str, user: str, action_id: str = APPROVE_ACTION_ID) -> int:
        payload = {
            "type": "block_actions", "team": {"id": "T1", "domain": "clusterdoc-test"},
            "user": {"id": user, "username": user.lower(), "team_id": "T1"}, "api_app_id": "A0CLUSTERDOC",
            "token": "verification-token-unused", "trigger_id": "123.456.abc",
            "container": {"type": "message", "message_ts": "1.0", "channel_id": CHANNEL, "is_ephemeral": False},
            "channel": {"id": CHANNEL, "name": "incidents"}, "response_url": self.slack.response_url(),
            "actions": [{"action_id": action_id, "block_id": f"approval:{pending_id}", "value": pending_id,
                         "type": "button", "action_ts": "1732700000.1"}],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.client.post("/slack/events", content=body, headers=signed_headers(SECRET, body)).status_code

    def queued(self) -> int:
        return named_queue(self.redis, "clusterdoc:default").count

    def work(self) -> None:
        """One burst of the cluster's worker (in this process; the same wiring as ``clusterdoc worker``)."""
        queue = named_queue(self.redis, "clusterdoc:default")
        worker_for([queue], self.redis, burst=True).work(burst=True)


@pytest.fixture
def stack(tmp_path: Path, redis_url: str, fake_slack: FakeSlackServer,
          fake_kube: Callable[[Path], FakeKubeServer]) -> Iterator[Stack]:
    kube = fake_kube(SNAPSHOT)
    writes = install(kube)
    config = tmp_path / "clusterdoc.yaml"
    config.write_text(POLICY)
    settings = load_settings({
        "SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake_slack.url,
        "REDIS_URL": redis_url, "CLUSTERDOC_CONFIG": str(config),
        "KUBECONFIG": str(write_kubeconfig(tmp_path / "kubeconfig", kube.url)),
    })
    http_app, _bot, _start = build(settings)
    prepare_worker(settings, None)
    with TestClient(http_app) as client:
        yield Stack(client, settings, fake_slack, kube, writes)


def test_slash_command_to_offer_to_approved_uncordon(stack: Stack) -> None:
    assert stack.slash("why-pending web-0 -n shop") == 200
    stack.slack.wait_for("chat.postMessage")  # the root, posted after the ack
    wait_until(lambda: stack.queued() == 1)
    stack.work()

    (offer,) = [m for m in stack.slack.posted_messages(CHANNEL) if _buttons(m)]
    assert "Uncordon" in json.dumps(offer["blocks"]) and "low risk" in json.dumps(offer["blocks"])
    pending_id = _buttons(offer)[0]["value"]
    audit = AuditLog(stack.redis)
    assert [e.event for e in audit.for_pending(pending_id)] == ["requested"]
    assert audit.for_pending(pending_id)[0].requester == "U123"

    # the requester is not an approver under this policy: acked, queued, refused ephemerally
    assert stack.click(pending_id, "U123") == 200
    wait_until(lambda: stack.queued() == 1)
    stack.work()
    refusal = stack.slack.wait_for("chat.postEphemeral")[-1].params
    assert refusal["user"] == "U123" and "rule: sre-on-call" in refusal["text"]
    assert stack.writes.log == []

    # Slack delivers the approver's click three times (retries): one execution
    for _ in range(3):
        assert stack.click(pending_id, "U_SRE") == 200
    wait_until(lambda: stack.queued() == 3)
    stack.work()
    assert [(m.method, m.dry_run) for m in stack.writes.log] == [("PATCH", True), ("PATCH", False)]
    assert not live_cluster(stack.kube.url).get("Node", "node-1")["spec"].get("unschedulable")
    assert [e.event for e in audit.for_pending(pending_id)] == ["requested", "refused", "approved", "executed"]
    edited = stack.slack.messages[(CHANNEL, offer["ts"])]
    assert not _buttons(edited) and "Executed" in json.dumps(edited["blocks"]) and "<@U_SRE>" in json.dumps(
        edited["blocks"])
    assert any("*Executed*" in m.get("text", "") and m.get("thread_ts") == offer["thread_ts"]
               for m in stack.slack.posted_messages(CHANNEL))

    status, text = stack.slash_answer("audit 3")
    assert status == 200
    lines = text.splitlines()
    assert lines[0] == "Last 3 approval decision(s), newest first:"
    assert "*executed* by <@U_SRE>: `uncordon_node` node node-1 (default)" in lines[1]
    assert "*approved* by <@U_SRE>" in lines[2] and "*refused* by <@U123>" in lines[3]


def test_audit_command_usage(stack: Stack) -> None:
    status, text = stack.slash_answer("audit many")
    assert status == 200 and "N must be a number from 1 to 50" in text and "/k8s audit [N]" in text
    assert stack.slash_answer("audit")[1] == "The audit log is empty: no remediation has been offered yet."


def test_unknown_offer_is_answered_without_queueing(stack: Stack) -> None:
    assert stack.click("no-such-offer", "U_SRE") == 200
    wait_until(lambda: len(stack.slack.responses) == 1)
    assert "no longer valid" in stack.slack.responses[0]["text"]
    assert stack.queued() == 0


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]
