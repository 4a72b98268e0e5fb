"""Who may approve which remediation: the ``approvals:`` section of ``CLUSTERDOC_CONFIG``.

Deny by default. A click is allowed only by a rule that matches the action (by name and/or
risk), the cluster and namespace (shell-style patterns) and the channel, and that lists the
person — by Slack user ID or through a user group (``usergroups.users.list``). With no rule at
all, only the risks in ``open_risks`` (default: ``low``) can be approved, by anyone in the
channel; nothing high-risk ever is. The two-person rule is set per risk: ``forbid_self`` stops
the requester from approving their own action, ``approvers: 2`` asks for two distinct people.
Every refusal names the rule that refused, so the person knows whom to ask.

Example::

    approvals:
      expiry_minutes: 15
      two_person:
        high: {forbid_self: true, approvers: 2}
      rules:
        - name: sre-on-call
          risks: [low, medium, high]
          clusters: ["prod-*"]
          namespaces: ["*"]
          channels: [C0123INCIDENT]
          groups: [S0SREONCALL]
        - name: shop-team-restarts
          actions: [delete_pod, rollout_restart]
          namespaces: [shop]
          users: [U0ALICE, U0BOB]
      kubernetes_identities:
        U0ALICE: {user: alice@example.com, groups: [sre]}
      remediation_identity: {user: "system:serviceaccount:clusterdoc:clusterdoc-remediate"}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from clusterdoc.approvals.pending import PendingAction

RiskName = Literal["low", "medium", "high"]


class TwoPersonRule(BaseModel):
    """For one risk level: may the requester approve, and how many distinct approvers are needed."""

    model_config = ConfigDict(extra="forbid")

    forbid_self: bool = True
    approvers: int = Field(default=1, ge=1, le=5)


class ApprovalRule(BaseModel):
    """Who may approve what, where. Empty ``actions``/``risks``/``channels`` mean any."""

    model_config = ConfigDict(extra="forbid")

    name: str
    actions: list[str] = Field(default_factory=list)
    risks: list[RiskName] = Field(default_factory=list)
    clusters: list[str] = Field(default_factory=lambda: ["*"])
    namespaces: list[str] = Field(default_factory=lambda: ["*"])
    channels: list[str] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    waive: list[str] = Field(
        default_factory=list, description="precondition rules this rule's approvers may override, e.g. "
        "pod-without-controller",
    )

    def covers(self, pending: PendingAction) -> bool:
        """Whether the rule is about this action, cluster, namespace and channel (not who)."""
        namespace = pending.target.namespace or ""
        return (
            (not self.actions or pending.action in self.actions)
            and (not self.risks or pending.risk in self.risks)
            and any(fnmatchcase(pending.cluster, pattern) for pattern in self.clusters)
            and any(fnmatchcase(namespace, pattern) for pattern in self.namespaces)
            and (not self.channels or pending.channel in self.channels)
        )


class KubernetesIdentity(BaseModel):
    """The Kubernetes user (and groups) an approver's actions run as, by impersonation."""

    model_config = ConfigDict(extra="forbid")

    user: str
    groups: list[str] = Field(default_factory=list)


class ApprovalPolicy(BaseModel):
    """The whole ``approvals:`` section."""

    model_config = ConfigDict(extra="forbid")

    expiry_minutes: float = Field(default=15, gt=0, le=24 * 60)
    open_risks: list[RiskName] = Field(default_factory=lambda: list[RiskName](["low"]))
    two_person: dict[RiskName, TwoPersonRule] = Field(
        default_factory=lambda: dict[RiskName, TwoPersonRule]({"high": TwoPersonRule(forbid_self=True, approvers=1)})
    )
    rules: list[ApprovalRule] = Field(default_factory=list)
    kubernetes_identities: dict[str, KubernetesIdentity] = Field(default_factory=dict)
    require_kubernetes_identity: bool = False
    remediation_identity: KubernetesIdentity | None = None
    """Who actions run as when the approver has no mapped identity — typically the chart's
    ``system:serviceaccount:<ns>:<release>-clusterdoc-remediate``, so the worker's own service
    account stays read-only and may only impersonate that one account."""

    def two_person_for(self, risk: str) -> TwoPersonRule:
        return self.two_person.get(risk, TwoPersonRule(forbid_self=False, approvers=1))  # type: ignore[call-overload]


@dataclass(frozen=True)
class Decision:
    """Whether a click may count as an approval, under which rule, and what it allows."""

    allowed: bool
    rule: str
    message: str = ""
    needed: int = 1
    waived: frozenset[str] = field(default_factory=frozenset)
    identity: KubernetesIdentity | None = None


GroupMembers = Callable[[str], set[str]]


def decide(policy: ApprovalPolicy, pending: PendingAction, user: str, members_of: GroupMembers) -> Decision:
    """May ``user`` approve ``pending``? Deny by default; the refusal names the rule."""
    two_person = policy.two_person_for(pending.risk)
    if two_person.forbid_self and user == pending.requester:
        return Decision(
            False, f"two-person rule ({pending.risk} risk)",
            f"the two-person rule for {pending.risk}-risk actions does not let the requester approve their "
            "own action; ask another approver",
        )
    scoped = [rule for rule in policy.rules if rule.covers(pending)]
    matching = [rule for rule in scoped if _listed(rule, user, members_of)]
    identity = policy.kubernetes_identities.get(user)
    if policy.require_kubernetes_identity and identity is None:
        return Decision(
            False, "kubernetes identity required",
            f"<@{user}> has no Kubernetes identity in approvals.kubernetes_identities, which this policy requires",
        )
    if matching:
        waived = frozenset(w for rule in matching for w in rule.waive)
        return Decision(True, matching[0].name, needed=two_person.approvers, waived=waived, identity=identity)
    if scoped:
        names = ", ".join(rule.name for rule in scoped)
        return Decision(
            False, names,
            f"<@{user}> is not an approver for {pending.action} on {pending.target_text()} in cluster "
            f"{pending.cluster} under rule(s) {names}",
        )
    if pending.risk in policy.open_risks:
        return Decision(True, f"open {pending.risk}-risk actions", needed=two_person.approvers, identity=identity)
    return Decision(
        False, "deny by default",
        f"no approval rule covers {pending.action} ({pending.risk} risk) on {pending.target_text()} in cluster "
        f"{pending.cluster}, channel <#{pending.channel}>: denied by default",
    )


def may_dismiss(policy: ApprovalPolicy, pending: PendingAction, user: str, members_of: GroupMembers) -> bool:
    """The requester, or anyone who could approve it, may dismiss an offer."""
    if user == pending.requester:
        return True
    return any(rule.covers(pending) and _listed(rule, user, members_of) for rule in policy.rules) or (
        not any(rule.covers(pending) for rule in policy.rules) and pending.risk in policy.open_risks
    )


def _listed(rule: ApprovalRule, user: str, members_of: GroupMembers) -> bool:
    if user in rule.users:
        return True
    return any(user in members_of(group) for group in rule.groups)
