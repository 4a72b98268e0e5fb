"""The approval flow end to end: real Redis, fake Slack Web API, fake Kubernetes API with writes.

Each test offers a remediation into a thread, clicks (as the RQ job would, through
:meth:`ApprovalService.handle`), and checks the cluster's writes, what Slack received (thread
replies, ephemeral refusals, the edited offer) and that the audit stream says exactly that.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from slack_sdk import WebClient

from clusterdoc.approvals.audit import AuditLog, audit_command
from clusterdoc.approvals.blocks import APPROVE_ACTION_ID, DISMISS_ACTION_ID
from clusterdoc.approvals.pending import PendingAction
from clusterdoc.approvals.policy import ApprovalPolicy
from clusterdoc.approvals.usergroups import UserGroupCache
from clusterdoc.config import FileConfig
from clusterdoc.queue import Click
from clusterdoc.report import Remediation, Target
from clusterdoc.workers.approvals.jobs import action_contexts
from clusterdoc.workers.approvals.service import ApprovalService
from clusterdoc.workers.remediation import runner
from clusterdoc.workers.remediation.client import RemediationClient
from tests.harness.fake_kube import FakeKubeServer, kube_configuration, live_cluster
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.kube_mutations import MutationEngine, install

SNAPSHOT = Path(__file__).parent / "data" / "remediation" / "cluster.yaml"
CHANNEL, REQUESTER, THREAD = "C_INC", "U_REQ", "1732700000.000100"
POLICY = {
    "expiry_minutes": 15,
    "two_person": {"high": {"forbid_self": True, "approvers": 1}},
    "rules": [
        {"name": "sre-on-call", "groups": ["S_SRE"], "clusters": ["prod"], "channels": [CHANNEL]},
        {"name": "shop-team", "actions": ["delete_pod", "rollout_restart"], "namespaces": ["shop"],
         "users": ["U_SHOP"]},
    ],
    "kubernetes_identities": {"U_SRE2": {"user": "sre2@example.com", "groups": ["sre"]}},
}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Flow:
    """The service under test plus everything a test inspects."""

    def __init__(self, redis_url: str, slack: FakeSlackServer, kube: FakeKubeServer, policy: dict[str, Any]) -> None:
        self.slack, self.kube = slack, kube
        self.writes: MutationEngine = install(kube)
        self.clock = Clock()
        connection = redis.Redis.from_url(redis_url)
        web = WebClient(token="xoxb-test", base_url=slack.url)
        self.groups = UserGroupCache(web, ttl=300)
        parsed_policy = ApprovalPolicy.model_validate(policy)
        self.context = action_contexts(kube_configuration(kube.url), None, parsed_policy.remediation_identity,
                                       poll_interval=0.0)
        self.service = ApprovalService(
            connection=connection, slack=web, policy=parsed_policy,
            members_of=self.groups.members, context_factory=self.context, clock=self.clock,
        )
        self.audit = AuditLog(connection)


    def offer(self, action: str, target: Target, params: dict[str, Any] | None = None) -> PendingAction:
        remediation = Remediation(action, target, "low", "", dict(params or {}))
        seen = runner.observe(live_cluster(self.kube.url), remediation)
        return self.service.offer(remediation, seen=seen, requester=REQUESTER, channel=CHANNEL, thread_ts=THREAD,
                                  cluster="prod")

    def click(self, pending: PendingAction, user: str, kind: str = "approve") -> str:
        return self.service.handle(Click(pending.id, user, kind, CHANNEL))  # type: ignore[arg-type]

    def events(self, pending: PendingAction) -> list[str]:
        return [entry.event for entry in self.audit.for_pending(pending.id)]

    def ephemerals(self, user: str) -> list[str]:
        return [c.params["text"] for c in self.slack.calls_to("chat.postEphemeral") if c.params["user"] == user]

    def offer_message(self, pending: PendingAction) -> dict[str, Any]:
        return self.slack.messages[(CHANNEL, pending.message_ts)]

    def replies(self) -> list[str]:
        return [m["text"] for m in self.slack.thread(THREAD) if "blocks" not in m]


@pytest.fixture
def flow(redis_url: str, fake_slack: FakeSlackServer, fake_kube: Callable[[Path], FakeKubeServer]) -> Flow:
    fake_slack.set_usergroup("S_SRE", ["U_SRE1", "U_SRE2"])
    return Flow(redis_url, fake_slack, fake_kube(SNAPSHOT), POLICY)


def action_ids(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def test_offer_approve_execute_edit_and_audit(flow: Flow) -> None:
    pending = flow.offer("delete_pod", Target("Pod", "web-8c4b2-aaaaa", "shop"))
    offered = flow.offer_message(pending)
    assert offered["thread_ts"] == THREAD
    assert action_ids(offered) == [APPROVE_ACTION_ID, DISMISS_ACTION_ID]
    values = {e["value"] for b in offered["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert values == {pending.id}  # the button carries nothing but the opaque id
    assert "medium risk" in str(offered["blocks"])
    assert "_What changes:_ Deletes the pod; its controller creates a replacement." in str(offered["blocks"])

    assert flow.click(pending, "U_SHOP") == "executed"
    assert [(m.method, m.dry_run) for m in flow.writes.log] == [("DELETE", True), ("DELETE", False)]
    edited = flow.offer_message(pending)
    assert action_ids(edited) == []  # buttons removed
    assert "edited" in edited and "Executed" in str(edited["blocks"]) and "<@U_SHOP>" in str(edited["blocks"])
    assert any("*Executed*" in text and "Dry run: pod shop/web-8c4b2-aaaaa would be deleted" in text
               for text in flow.replies())
    assert flow.events(pending) == ["requested", "approved", "executed"]
    executed = flow.audit.for_pending(pending.id)[-1]
    assert (executed.actor, executed.approvers, executed.requester, executed.rule) == (
        "U_SHOP", ["U_SHOP"], REQUESTER, "shop-team"
    )
    assert "would be deleted" in executed.dry_run and "deleted" in executed.outcome
    assert {"precheck", "dry_run", "execute", "total"} <= set(executed.timings)
    assert "executed* by <@U_SHOP>: `delete_pod` pod shop/web-8c4b2-aaaaa" in audit_command(flow.service.store.redis)


def test_force_delete_is_offered_at_the_catalogues_high_risk_and_rechecked(flow: Flow) -> None:
    """A ``delete_pod`` with ``force`` is high risk (a confirmation dialog on Approve); its precheck
    refuses a pod that is not stuck terminating, before any DELETE."""
    pending = flow.offer("delete_pod", Target("Pod", "web-8c4b2-aaaaa", "shop"), {"force": True})
    assert pending.risk == "high"
    offered = flow.offer_message(pending)
    assert "high risk" in str(offered["blocks"]) and "Run this fix?" in str(offered["blocks"])
    assert "Force-delete pod shop/web-8c4b2-aaaaa (grace period 0" in str(offered["blocks"])
    assert ("_What changes:_ Removes the pod from the API server at once (grace period 0), without its kubelet "
            "confirming the containers stopped" in str(offered["blocks"]))
    assert flow.click(pending, "U_SHOP") == "refused"
    assert flow.writes.log == []
    assert flow.audit.for_pending(pending.id)[-1].rule == "not-terminating"


def test_twenty_concurrent_approvals_mutate_once(flow: Flow) -> None:
    pending = flow.offer("scale", Target("Deployment", "web", "shop"), {"replicas": 5, "current": 2})
    barrier = threading.Barrier(20)
    results: list[str] = []

    def click(user: str) -> None:
        barrier.wait()
        results.append(flow.click(pending, user))

    threads = [threading.Thread(target=click, args=("U_SRE1" if i % 2 else "U_SRE2",)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(results) == Counter({"executed": 1, "taken": 19})
    assert len(flow.writes.applied()) == 1
    assert len(flow.writes.dry_runs()) == 1
    assert live_cluster(flow.kube.url).get("Deployment", "web", "shop")["spec"]["replicas"] == 5
    assert flow.events(pending) == ["requested", "approved", "executed"]
    assert len(flow.slack.calls_to("chat.postEphemeral")) == 19


def test_expired_button(flow: Flow) -> None:
    pending = flow.offer("cordon_node", Target("Node", "node-a"))
    flow.clock.now += 15 * 60 + 1
    assert flow.click(pending, "U_SRE1") == "expired"
    assert flow.click(pending, "U_SRE2") == "expired"
    assert "expired" in flow.ephemerals("U_SRE1")[0] and "expired" in flow.ephemerals("U_SRE2")[0]
    assert flow.writes.log == []
    assert action_ids(flow.offer_message(pending)) == []
    assert flow.events(pending) == ["requested", "expired"]  # recorded once, by the first late click


def test_unauthorised_user_gets_ephemeral_refusal_naming_rule(flow: Flow) -> None:
    pending = flow.offer("delete_pod", Target("Pod", "web-8c4b2-aaaaa", "shop"))
    assert flow.click(pending, "U_INTRUDER") == "refused"
    (refusal,) = flow.ephemerals("U_INTRUDER")
    assert "<@U_INTRUDER> is not an approver" in refusal and "rule: sre-on-call, shop-team" in refusal
    assert flow.writes.log == []
    assert action_ids(flow.offer_message(pending)) == [APPROVE_ACTION_ID, DISMISS_ACTION_ID]  # still offered
    assert flow.events(pending) == ["requested", "refused"]
    refused = flow.audit.for_pending(pending.id)[-1]
    assert (refused.actor, refused.rule) == ("U_INTRUDER", "sre-on-call, shop-team")


def test_requester_cannot_approve_own_high_risk_action(flow: Flow) -> None:
    flow.slack.set_usergroup("S_SRE", ["U_SRE1", "U_SRE2", REQUESTER])
    pending = flow.offer("drain_node", Target("Node", "node-a"))
    assert pending.risk == "high"
    assert flow.click(pending, REQUESTER) == "refused"
    assert "two-person rule" in flow.ephemerals(REQUESTER)[0]
    assert flow.writes.log == []
    assert flow.click(pending, "U_SRE1") == "executed"
    assert flow.events(pending) == ["requested", "refused", "approved", "executed"]
    assert flow.audit.for_pending(pending.id)[1].rule == "two-person rule (high risk)"


def test_two_distinct_approvers(redis_url: str, fake_slack: FakeSlackServer,
                                fake_kube: Callable[[Path], FakeKubeServer]) -> None:
    fake_slack.set_usergroup("S_SRE", ["U_SRE1", "U_SRE2"])
    policy = {**POLICY, "two_person": {"low": {"forbid_self": False, "approvers": 2}}}
    flow = Flow(redis_url, fake_slack, fake_kube(SNAPSHOT), policy)
    pending = flow.offer("cordon_node", Target("Node", "node-a"))
    assert flow.click(pending, "U_SRE1") == "recorded"
    assert flow.click(pending, "U_SRE1") == "duplicate"
    assert flow.writes.log == []
    partial = flow.offer_message(pending)
    assert action_ids(partial) == [APPROVE_ACTION_ID, DISMISS_ACTION_ID]  # still open for the second approver
    assert "Approved by <@U_SRE1> (1 of 2)" in str(partial["blocks"])
    assert flow.click(pending, "U_SRE2") == "executed"
    assert len(flow.writes.applied()) == 1
    assert flow.events(pending) == ["requested", "approved", "approved", "executed"]
    assert flow.audit.for_pending(pending.id)[-1].approvers == ["U_SRE1", "U_SRE2"]
    assert flow.groups.fetches == 1  # the group was resolved once and cached


def test_target_changed_between_diagnosis_and_approval(flow: Flow) -> None:
    pending = flow.offer("rollout_restart", Target("Deployment", "web", "shop"))
    RemediationClient(kube_configuration(flow.kube.url)).patch("Deployment", "web", "shop", {"spec": {"replicas": 3}})
    assert flow.click(pending, "U_SHOP") == "refused"
    assert len(flow.writes.applied()) == 1  # only the other person's change
    assert any("Refused before running" in text and "generation 4 is now 5" in text for text in flow.replies())
    assert flow.events(pending) == ["requested", "approved", "refused"]
    assert flow.audit.for_pending(pending.id)[-1].rule == "generation-moved"
    assert "Refused before running" in str(flow.offer_message(pending)["blocks"])


def test_dry_run_refused(flow: Flow) -> None:
    flow.writes.reject(r"/pods/web-8c4b2-aaaaa$", 403, 'admission webhook "guard" denied the request: frozen',
                       method="DELETE", dry_run=True)
    pending = flow.offer("delete_pod", Target("Pod", "web-8c4b2-aaaaa", "shop"))
    assert flow.click(pending, "U_SHOP") == "dry_run_refused"
    assert flow.writes.applied() == []
    entry = flow.audit.for_pending(pending.id)[-1]
    assert (entry.event, entry.rule) == ("refused", "dry-run")
    assert "frozen" in entry.dry_run and "nothing was changed" in entry.outcome


def test_drain_blocked_by_pdb_through_the_flow(flow: Flow) -> None:
    pending = flow.offer("drain_node", Target("Node", "node-c"))
    assert flow.click(pending, "U_SRE1") == "dry_run_refused"
    assert flow.writes.applied() == []
    assert any("shop/db-pdb" in text for text in flow.replies())
    assert "shop/db-pdb" in flow.audit.for_pending(pending.id)[-1].outcome


def test_drain_failing_halfway_is_reported_and_audited(flow: Flow) -> None:
    flow.writes.reject(r"/pods/web-8c4b2-aaaaa/eviction$", 500, "etcdserver: leader changed", dry_run=False)
    pending = flow.offer("drain_node", Target("Node", "node-a"))
    assert flow.click(pending, "U_SRE1") == "failed"
    replies = flow.replies()
    assert any(text.startswith(":hourglass_flowing_sand: Cordoned node node-a") for text in replies)
    final = replies[-1]
    assert "*Failed*" in final and "node node-a left cordoned" in final
    assert "Changed before it stopped: node node-a: spec.unschedulable=true; evicted pod shop/api-5d8f-ccccc" in final
    entry = flow.audit.for_pending(pending.id)[-1]
    assert entry.event == "failed" and "not attempted: shop/web-8c4b2-bbbbb" in entry.outcome
    assert flow.service.store.state(pending.id)["status"] == "failed"


def test_dismiss(flow: Flow) -> None:
    pending = flow.offer("cordon_node", Target("Node", "node-a"))
    assert flow.click(pending, "U_INTRUDER", "dismiss") == "refused"
    assert flow.ephemerals("U_INTRUDER")[-1].endswith("(rule: dismiss: requester or approvers only).")
    assert flow.click(pending, REQUESTER, "dismiss") == "dismissed"
    assert flow.click(pending, "U_SRE1") == "taken"
    assert flow.writes.log == []
    assert "Dismissed" in str(flow.offer_message(pending)["blocks"])
    assert flow.events(pending) == ["requested", "refused", "dismissed"]


def test_impersonation_preflight_lets_cluster_rbac_refuse(flow: Flow) -> None:
    flow.writes.deny("patch", "nodes", user="sre2@example.com")
    pending = flow.offer("cordon_node", Target("Node", "node-a"))
    assert flow.click(pending, "U_SRE2") == "refused"
    assert flow.writes.log == []
    entry = flow.audit.for_pending(pending.id)[-1]
    assert (entry.event, entry.rule) == ("refused", "kubernetes RBAC")
    assert "sre2@example.com may not patch nodes" in entry.outcome
    assert flow.ephemerals("U_SRE2")[-1].endswith("(rule: kubernetes RBAC).")
    assert action_ids(flow.offer_message(pending)) == [APPROVE_ACTION_ID, DISMISS_ACTION_ID]  # still open
    # so another approver may take it: without a mapped identity it runs as the worker's account
    assert flow.click(pending, "U_SRE1") == "executed"
    assert flow.writes.log[-1].impersonate_user is None
    assert flow.events(pending) == ["requested", "refused", "approved", "executed"]


def test_the_preflight_asks_for_the_reads_too_not_only_the_write(flow: Flow) -> None:
    flow.writes.deny("get", "pods", user="sre2@example.com", namespace="shop")  # may delete, may not read
    pending = flow.offer("delete_pod", Target("Pod", "web-8c4b2-aaaaa", "shop"))
    assert flow.click(pending, "U_SRE2") == "refused"
    assert "sre2@example.com may not get pods in namespace shop" in flow.audit.for_pending(pending.id)[-1].outcome
    assert flow.writes.log == []
    assert action_ids(flow.offer_message(pending)) == [APPROVE_ACTION_ID, DISMISS_ACTION_ID]  # still open


def test_a_drain_asks_for_cluster_wide_pod_list_and_eviction(flow: Flow) -> None:
    flow.writes.deny("create", "pods/eviction", user="sre2@example.com")
    pending = flow.offer("drain_node", Target("Node", "node-a"))
    assert flow.click(pending, "U_SRE2") == "refused"
    outcome = flow.audit.for_pending(pending.id)[-1].outcome
    assert "sre2@example.com may not create pods/eviction" in outcome and "namespace" not in outcome
    assert flow.writes.log == []


def test_every_action_asks_for_what_it_reads_and_writes() -> None:
    pod, node = Target("Pod", "web-1", "shop"), Target("Node", "node-a")
    assert runner.required_access("delete_pod", pod) == [("get", "pods", "", None, "shop"),
                                                         ("delete", "pods", "", None, "shop")]
    assert runner.required_access("delete_pod", pod, {"force": True}) == [
        ("get", "pods", "", None, "shop"), ("get", "nodes", "", None, None), ("delete", "pods", "", None, "shop")]
    assert runner.required_access("rollout_restart", Target("StatefulSet", "db", "shop")) == [
        ("get", "statefulsets", "apps", None, "shop"), ("patch", "statefulsets", "apps", None, "shop")]
    assert runner.required_access("rollback_deployment", Target("Deployment", "web", "shop")) == [
        ("get", "deployments", "apps", None, "shop"), ("list", "replicasets", "apps", None, "shop"),
        ("patch", "deployments", "apps", None, "shop")]
    assert runner.required_access("drain_node", node) == [
        ("get", "nodes", "", None, None), ("patch", "nodes", "", None, None), ("list", "pods", "", None, None),
        ("create", "pods", "", "eviction", None)]
    assert runner.required_access("etcd_defrag", Target("EtcdMember", "etcd-0")) == []
    assert runner.required_access("no_such_action", pod) == []


def test_remediation_identity_keeps_the_worker_read_only(
    redis_url: str, fake_slack: FakeSlackServer, fake_kube: Callable[[Path], FakeKubeServer]
) -> None:
    fake_slack.set_usergroup("S_SRE", ["U_SRE1", "U_SRE2"])
    account = "system:serviceaccount:clusterdoc:clusterdoc-remediate"
    flow = Flow(redis_url, fake_slack, fake_kube(SNAPSHOT), {**POLICY, "remediation_identity": {"user": account}})
    pending = flow.offer("cordon_node", Target("Node", "node-a"))
    assert flow.click(pending, "U_SRE1") == "executed"
    assert {m.impersonate_user for m in flow.writes.log} == {account}
    mapped = flow.offer("uncordon_node", Target("Node", "node-a"))
    assert flow.click(mapped, "U_SRE2") == "executed"
    assert flow.writes.log[-1].impersonate_user == "sre2@example.com"


def test_unknown_button(flow: Flow) -> None:
    assert flow.service.handle(Click("no-such-id", "U_SRE1", "approve", CHANNEL)) == "missing"
    assert "no longer valid" in flow.ephemerals("U_SRE1")[0]


def claim_without_executing(flow: Flow, pending: PendingAction, user: str) -> None:
    """What a worker killed right after its atomic claim leaves behind (the store's public API)."""
    assert flow.service.store.approve(pending.id, user, 1, flow.clock.now, flow.service.claim_timeout).result \
        == "claimed"


def test_worker_dying_after_the_claim_is_reported_once_and_never_rerun(flow: Flow) -> None:
    pending = flow.offer("cordon_node", Target("Node", "node-a"))
    claim_without_executing(flow, pending, "U_SRE1")
    flow.clock.now += 60  # still within the deadline: the claim may be running
    assert flow.click(pending, "U_SRE2") == "taken"
    assert "being executed (approved by <@U_SRE1>)" in flow.ephemerals("U_SRE2")[-1]
    assert action_ids(flow.offer_message(pending)) == [APPROVE_ACTION_ID, DISMISS_ACTION_ID]
    assert flow.events(pending) == ["requested"]

    flow.clock.now += flow.service.claim_timeout + 3600  # long past the job timeout: that worker is gone
    assert flow.click(pending, "U_SRE2") == "stalled"
    assert "stopped before reporting an outcome; it was not run again" in flow.ephemerals("U_SRE2")[-1]
    edited = flow.offer_message(pending)
    assert action_ids(edited) == []
    assert "Outcome unknown* by <@U_SRE1>" in str(edited["blocks"])
    assert "check the cluster before retrying" in str(edited["blocks"])
    assert any(text.startswith(":grey_question: *Outcome unknown*") for text in flow.replies())
    assert flow.writes.log == []  # nothing executed, then or now
    entry = flow.audit.for_pending(pending.id)[-1]
    assert (entry.event, entry.rule, entry.actor, entry.approvers) == (
        "failed", "claim deadline passed", "U_SRE2", ["U_SRE1"]
    )
    assert "outcome unknown: the worker executing it stopped" in entry.outcome

    assert flow.click(pending, "U_SRE1") == "taken"  # a later click neither re-runs nor re-reports
    assert flow.click(pending, REQUESTER, "dismiss") == "taken"
    assert "already done" in flow.ephemerals("U_SRE1")[-1]
    assert flow.writes.log == []
    assert flow.events(pending) == ["requested", "failed"]
    assert flow.service.store.state(pending.id)["status"] == "unknown"


def test_sweep_reports_stalled_claims_without_a_click(flow: Flow) -> None:
    stalled = flow.offer("cordon_node", Target("Node", "node-a"))
    claim_without_executing(flow, stalled, "U_SRE1")
    assert flow.service.sweep_stalled() == []  # not past its deadline yet
    flow.clock.now += flow.service.claim_timeout + 3600
    running = flow.offer("uncordon_node", Target("Node", "node-a"))
    claim_without_executing(flow, running, "U_SRE2")  # claimed just now: still within its deadline
    assert flow.service.sweep_stalled() == [stalled.id]
    assert flow.service.sweep_stalled() == []
    assert "Outcome unknown" in str(flow.offer_message(stalled)["blocks"])
    assert action_ids(flow.offer_message(running)) == [APPROVE_ACTION_ID, DISMISS_ACTION_ID]
    assert flow.events(stalled) == ["requested", "failed"]
    assert flow.audit.for_pending(stalled.id)[-1].actor == ""
    assert flow.events(running) == ["requested"]
    assert flow.writes.log == []


def decided(flow: Flow, pending: PendingAction) -> str:
    """The offer as edited: no buttons left; its text."""
    message = flow.offer_message(pending)
    assert action_ids(message) == []
    return str(message["blocks"])


def test_every_terminal_outcome_edits_the_offer_with_who_when_and_outcome(flow: Flow) -> None:
    when = "2027-01-15 08:00 UTC"  # the test clock
    flow.writes.reject(r"/pods/web-8c4b2-aaaaa/eviction$", 500, "etcdserver: leader changed", dry_run=False)
    failed = flow.offer("drain_node", Target("Node", "node-a"))
    assert flow.click(failed, "U_SRE1") == "failed"
    assert f"*Failed* by <@U_SRE1> at {when}" in decided(flow, failed)
    assert "leader changed" in decided(flow, failed)

    executed = flow.offer("uncordon_node", Target("Node", "node-b"))
    assert flow.click(executed, "U_SRE1") == "executed"
    assert f"*Executed* by <@U_SRE1> at {when}" in decided(flow, executed)
    assert "node node-b uncordoned" in decided(flow, executed)

    precheck = flow.offer("cordon_node", Target("Node", "node-a"))  # the failed drain left it cordoned
    assert flow.click(precheck, "U_SRE1") == "refused"
    assert f"*Refused before running* by <@U_SRE1> at {when}" in decided(flow, precheck)
    assert "already cordoned" in decided(flow, precheck)

    flow.writes.reject(r"/pods/web-8c4b2-aaaaa$", 403, 'admission webhook "guard" denied the request: frozen',
                       method="DELETE", dry_run=True)
    dry = flow.offer("delete_pod", Target("Pod", "web-8c4b2-aaaaa", "shop"))
    assert flow.click(dry, "U_SHOP") == "dry_run_refused"
    assert f"*Refused at dry run* by <@U_SHOP> at {when}" in decided(flow, dry)
    assert "frozen" in decided(flow, dry)

    dismissed = flow.offer("cordon_node", Target("Node", "node-b"))
    assert flow.click(dismissed, "U_SRE2", "dismiss") == "dismissed"
    assert f"*Dismissed* by <@U_SRE2> at {when}" in decided(flow, dismissed)

    expired = flow.offer("cordon_node", Target("Node", "node-b"))
    flow.clock.now += 15 * 60
    assert flow.click(expired, "U_SRE1") == "expired"
    assert "*Expired unapproved* at 2027-01-15 08:15 UTC" in decided(flow, expired)


def test_no_policy_means_no_high_or_medium_risk_approval(
    redis_url: str, fake_slack: FakeSlackServer, fake_kube: Callable[[Path], FakeKubeServer]
) -> None:
    flow = Flow(redis_url, fake_slack, fake_kube(SNAPSHOT), FileConfig().approvals.model_dump())
    offers = [
        flow.offer("drain_node", Target("Node", "node-a")),
        flow.offer("etcd_defrag", Target("EtcdMember", "etcd-0"), {"endpoint": "https://etcd-0:2379"}),
        flow.offer("rollback_deployment", Target("Deployment", "web", "shop")),
        flow.offer("delete_pod", Target("Pod", "web-8c4b2-aaaaa", "shop")),
    ]
    assert [p.risk for p in offers] == ["high", "high", "high", "medium"]
    for pending in offers:
        assert flow.click(pending, "U_ANYONE") == "refused"
        assert flow.ephemerals("U_ANYONE")[-1].endswith("denied by default (rule: deny by default).")
        assert flow.events(pending) == ["requested", "refused"]
    assert flow.writes.log == []


def test_pod_without_controller_is_deleted_only_where_the_policy_waives_the_rule(
    redis_url: str, fake_slack: FakeSlackServer, fake_kube: Callable[[Path], FakeKubeServer]
) -> None:
    fake_slack.set_usergroup("S_SRE", ["U_SRE1", "U_SRE2"])
    flow = Flow(redis_url, fake_slack, fake_kube(SNAPSHOT), POLICY)
    pending = flow.offer("delete_pod", Target("Pod", "debug", "shop"))
    assert flow.click(pending, "U_SHOP") == "refused"
    assert flow.writes.log == []
    assert flow.audit.for_pending(pending.id)[-1].rule == "pod-without-controller"
    assert "has no controller" in str(flow.offer_message(pending)["blocks"])

    rules = [{**POLICY["rules"][1], "waive": ["pod-without-controller"]}]
    waiving = Flow(redis_url, fake_slack, flow.kube, {**POLICY, "rules": rules})
    second = waiving.offer("delete_pod", Target("Pod", "debug", "shop"))
    assert waiving.click(second, "U_SHOP") == "executed"
    assert [(m.method, m.dry_run) for m in waiving.writes.log] == [("DELETE", True), ("DELETE", False)]


SECRETS = ("hunter2-SECRET-value", "aHVudGVyMi1TRUNSRVQtdmFsdWU=", "xoxb-test", "kube-bearer-SECRET-token")


def test_no_secret_reaches_slack_the_audit_or_the_logs(
    redis_url: str, fake_slack: FakeSlackServer, fake_kube: Callable[[Path], FakeKubeServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    kube = fake_kube(Path(__file__).parent / "data" / "remediation" / "secret-env.yaml")
    flow = Flow(redis_url, fake_slack, kube, {**POLICY, "rules": [{"name": "all", "users": ["U_SRE1"]}]})
    configuration = kube_configuration(kube.url)
    configuration.api_key = {"authorization": "kube-bearer-SECRET-token"}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    flow.service.context_factory = action_contexts(configuration, None, None, poll_interval=0.0)

    executed = flow.offer("delete_pod", Target("Pod", "api-0", "shop"))
    assert flow.click(executed, "U_SRE1") == "executed"
    flow.writes.reject(r"/nodes/node-a$", 500, "etcdserver: request timed out", dry_run=False)
    failed = flow.offer("cordon_node", Target("Node", "node-a"))
    assert flow.click(failed, "U_SRE1") == "failed"
    claim_without_executing(flow, offer := flow.offer("uncordon_node", Target("Node", "node-a")), "U_SRE1")
    flow.clock.now += flow.service.claim_timeout + 3600
    assert flow.service.sweep_stalled() == [offer.id]
    assert flow.click(offer, "U_SRE1") == "taken"

    audit_lines = [r.getMessage() for r in caplog.records if r.name == "clusterdoc.audit"]
    assert len(audit_lines) == len(flow.audit.latest(100)) >= 8
    seen_by_people = "\n".join([
        str([call.params for call in flow.slack.calls]),
        str([entry.fields() for entry in flow.audit.latest(100)]),
        audit_command(flow.service.store.redis, 50),
        caplog.text,
    ])
    assert "api-0" in seen_by_people and "request timed out" in seen_by_people  # the capture is not empty
    for secret in SECRETS:
        assert secret not in seen_by_people


def test_required_kubernetes_identity_refusal_is_ephemeral_and_named(
    redis_url: str, fake_slack: FakeSlackServer, fake_kube: Callable[[Path], FakeKubeServer]
) -> None:
    fake_slack.set_usergroup("S_SRE", ["U_SRE1", "U_SRE2"])
    flow = Flow(redis_url, fake_slack, fake_kube(SNAPSHOT), {**POLICY, "require_kubernetes_identity": True})
    pending = flow.offer("cordon_node", Target("Node", "node-a"))
    assert flow.click(pending, "U_SRE1") == "refused"
    assert flow.ephemerals("U_SRE1")[-1].endswith("(rule: kubernetes identity required).")
    assert action_ids(flow.offer_message(pending)) == [APPROVE_ACTION_ID, DISMISS_ACTION_ID]  # still offered
    assert flow.writes.log == []
    assert flow.click(pending, "U_SRE2") == "executed"
    assert {m.impersonate_user for m in flow.writes.log} == {"sre2@example.com"}
    assert flow.events(pending) == ["requested", "refused", "approved", "executed"]
