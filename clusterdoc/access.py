"""Who may run what, where: the ``access:`` section of ``CLUSTERDOC_CONFIG``.

Rules are read in order; the first whose verbs, clusters and channels cover the command and
whose users/groups list the person decides (``effect: allow`` or ``deny``). When no rule
decides, ``default`` applies — ``allow``, so a configuration without ``access:`` behaves as
before. ``audit`` is a verb like the others, so ``/k8s audit`` can be kept to those allowed.
A refusal names the rule that refused (or "deny by default"), the way approval refusals do.

Example::

    access:
      default: deny
      rules:
        - name: prod-sre
          clusters: ["prod-*"]
          groups: [S0SREONCALL]
        - name: staging-everyone
          verbs: [why-pending, describe, events, runbooks, help]
          clusters: [staging]
        - name: audit-readers
          verbs: [audit]
          users: [U0LEAD]

``verbs``, ``clusters`` and ``channels`` take shell-style patterns (``*`` by default: any);
empty ``users`` and ``groups`` mean anyone. ``help`` and ``runbooks`` are always allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ALWAYS_ALLOWED = frozenset({"help", "runbooks"})
GroupMembers = Callable[[str], set[str]]


class AccessRule(BaseModel):
    """One line of the policy: which verbs on which clusters from which channels, for whom."""

    model_config = ConfigDict(extra="forbid")

    name: str
    effect: Literal["allow", "deny"] = "allow"
    verbs: list[str] = Field(default_factory=lambda: ["*"])
    clusters: list[str] = Field(default_factory=lambda: ["*"])
    channels: list[str] = Field(default_factory=lambda: ["*"])
    users: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)

    def covers(self, verb: str, cluster: str, channel: str) -> bool:
        return (any(fnmatchcase(verb, p) for p in self.verbs) and any(fnmatchcase(cluster, p) for p in self.clusters)
                and any(fnmatchcase(channel, p) for p in self.channels))

    def lists(self, user: str, members_of: GroupMembers) -> bool:
        if not self.users and not self.groups:
            return True
        return user in self.users or any(user in members_of(group) for group in self.groups)


class AccessPolicy(BaseModel):
    """The whole ``access:`` section."""

    model_config = ConfigDict(extra="forbid")

    default: Literal["allow", "deny"] = "allow"
    rules: list[AccessRule] = Field(default_factory=list)

    @property
    def uses_groups(self) -> bool:
        return any(rule.groups for rule in self.rules)


@dataclass(frozen=True)
class AccessDecision:
    allowed: bool
    rule: str
    message: str = ""


def decide_access(policy: AccessPolicy, verb: str, cluster: str, channel: str, user: str,
                  members_of: GroupMembers) -> AccessDecision:
    """May ``user`` run ``verb`` on ``cluster`` from ``channel``? The refusal names the rule."""
    if verb in ALWAYS_ALLOWED:
        return AccessDecision(True, "always allowed")
    for rule in policy.rules:
        if rule.covers(verb, cluster, channel) and rule.lists(user, members_of):
            if rule.effect == "allow":
                return AccessDecision(True, rule.name)
            return AccessDecision(False, rule.name, refusal_text(verb, cluster, channel, user, f"rule: {rule.name}"))
    if policy.default == "allow":
        return AccessDecision(True, "allow by default")
    return AccessDecision(False, "deny by default",
                          refusal_text(verb, cluster, channel, user, "rule: deny by default, no access rule allows it"))


def refusal_text(verb: str, cluster: str, channel: str, user: str, why: str) -> str:
    """The one-line, ephemeral answer for a refused command."""
    return (f":no_entry: <@{user}> may not run `{verb}` on cluster `{cluster}` from <#{channel}> "
            f"({why}); ask whoever maintains clusterdoc's access policy.")
