"""The approval policy: deny by default, rules by person/group/action/risk/scope, two-person rule."""

from __future__ import annotations

import pytest

from clusterdoc.approvals.pending import PendingAction
from clusterdoc.approvals.policy import ApprovalPolicy, decide, may_dismiss
from clusterdoc.report import Target

GROUPS = {"S_SRE": {"U_SRE1", "U_SRE2"}, "S_SHOP": {"U_SHOP"}}


def members(group: str) -> set[str]:
    return GROUPS.get(group, set())


def pending(action: str = "delete_pod", risk: str = "medium", namespace: str | None = "shop", cluster: str = "prod-eu",
            channel: str = "C_INC", requester: str = "U_REQ") -> PendingAction:
    kind = "Node" if "node" in action else "Pod"
    return PendingAction(
        id="p1", action=action, target=Target(kind, "x", namespace if kind == "Pod" else None), risk=risk,
        description="d", cluster=cluster, channel=channel, requester=requester, created_at=0, expires_at=900,
    )


POLICY = ApprovalPolicy.model_validate({
    "two_person": {"high": {"forbid_self": True, "approvers": 2}, "medium": {"forbid_self": False}},
    "rules": [
        {"name": "sre-on-call", "clusters": ["prod-*"], "groups": ["S_SRE"], "channels": ["C_INC"]},
        {"name": "shop-restarts", "actions": ["delete_pod", "rollout_restart"], "namespaces": ["shop"],
         "users": ["U_SHOP_LEAD"], "groups": ["S_SHOP"], "waive": ["pod-without-controller"]},
    ],
    "kubernetes_identities": {"U_SRE1": {"user": "sre1@example.com", "groups": ["sre"]}},
})


@pytest.mark.parametrize(
    ("user", "item", "allowed", "rule"),
    [
        ("U_SRE1", pending(), True, "sre-on-call"),
        ("U_SHOP", pending(), True, "shop-restarts"),
        ("U_SHOP_LEAD", pending(action="rollout_restart"), True, "shop-restarts"),
        ("U_SHOP", pending(namespace="payments"), False, "sre-on-call"),
        ("U_SHOP", pending(action="drain_node", risk="high"), False, "sre-on-call"),
        ("U_SRE1", pending(channel="C_RANDOM"), False, "shop-restarts"),
        ("U_SRE1", pending(cluster="staging", channel="C_OTHER", namespace="payments"), False, "deny by default"),
        ("U_NOBODY", pending(), False, "sre-on-call, shop-restarts"),
        ("U_REQ", pending(action="drain_node", risk="high"), False, "two-person rule (high risk)"),
        ("U_SRE2", pending(action="drain_node", risk="high"), True, "sre-on-call"),
    ],
    ids=["sre-group", "shop-group", "shop-lead-user", "wrong-namespace", "wrong-action", "wrong-channel",
         "no-rule-covers", "not-listed", "requester-high-risk", "sre-high-risk"],
)
def test_decide(user: str, item: PendingAction, allowed: bool, rule: str) -> None:
    decision = decide(POLICY, item, user, members)
    assert (decision.allowed, decision.rule) == (allowed, rule)
    if not allowed:
        assert decision.message


def test_refusal_names_rule_and_person() -> None:
    decision = decide(POLICY, pending(), "U_NOBODY", members)
    assert "<@U_NOBODY> is not an approver" in decision.message
    assert "sre-on-call, shop-restarts" in decision.message


def test_empty_policy_denies_high_and_medium_risk_allows_low() -> None:
    empty = ApprovalPolicy()
    assert not decide(empty, pending(action="drain_node", risk="high"), "U_ANY", members).allowed
    medium = decide(empty, pending(risk="medium"), "U_ANY", members)
    assert (medium.allowed, medium.rule) == (False, "deny by default")
    assert decide(empty, pending(action="uncordon_node", risk="low"), "U_ANY", members).allowed
    assert not decide(ApprovalPolicy(open_risks=[]), pending(action="uncordon_node", risk="low"), "U_ANY",
                      members).allowed


def test_default_two_person_rule_stops_requester_on_high_risk_even_if_approver() -> None:
    policy = ApprovalPolicy.model_validate({"rules": [{"name": "all", "users": ["U_REQ", "U_OTHER"]}]})
    item = pending(action="drain_node", risk="high")
    assert decide(policy, item, "U_REQ", members).rule == "two-person rule (high risk)"
    other = decide(policy, item, "U_OTHER", members)
    assert other.allowed and other.needed == 1
    assert decide(policy, pending(risk="medium"), "U_REQ", members).allowed


def test_two_distinct_approvers_waivers_and_identity() -> None:
    high = decide(POLICY, pending(action="drain_node", risk="high"), "U_SRE1", members)
    assert high.needed == 2
    assert high.identity is not None and high.identity.user == "sre1@example.com"
    shop = decide(POLICY, pending(), "U_SHOP", members)
    assert shop.waived == frozenset({"pod-without-controller"})
    assert shop.identity is None


def test_required_identity() -> None:
    policy = POLICY.model_copy(update={"require_kubernetes_identity": True})
    assert decide(policy, pending(), "U_SRE1", members).allowed
    refused = decide(policy, pending(), "U_SRE2", members)
    assert (refused.allowed, refused.rule) == (False, "kubernetes identity required")


def test_dismiss_by_requester_or_approver_only() -> None:
    assert may_dismiss(POLICY, pending(), "U_REQ", members)
    assert may_dismiss(POLICY, pending(), "U_SRE2", members)
    assert not may_dismiss(POLICY, pending(), "U_NOBODY", members)


def test_bad_policy_is_rejected() -> None:
    with pytest.raises(ValueError, match="risks"):
        ApprovalPolicy.model_validate({"rules": [{"name": "x", "risks": ["extreme"]}]})
    with pytest.raises(ValueError, match="approvers"):
        ApprovalPolicy.model_validate({"two_person": {"high": {"approvers": 0}}})
