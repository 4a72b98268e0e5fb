"""The cross-layer verdict: one row per layer, the most likely broken layer, and why.

Each layer check yields a :class:`LayerRow`: its status (``ok``/``warning``/``critical``, ``unseen``
when nothing could be read, ``unfinished`` when it ran out of time), its most telling figure, the
evidence sentences, and what could not be seen. :func:`decide` picks the layer to blame:

- the most severe red layer, the most upstream one among equals along the request path — etcd
  feeds the API server, which every controller, the scheduler and every kubelet talk to; a red
  etcd beside a red API server is the cause whatever its severity (every request waits on it);
  the verdict names the other red layers as likely effects, as possible contributors (a less
  severe upstream layer) or as separate problems, and says why;
- among layers that do not feed each other the order is node → controller → scheduler (nodes
  that are not ready starve the scheduler; a stuck controller creates no pods to schedule);
- ``none`` when every layer that could be seen is healthy and enough was seen, else ``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["ok", "warning", "critical", "unseen", "unfinished"]
LAYER_ORDER: tuple[str, ...] = ("etcd", "apiserver", "node", "controller", "scheduler")
LAYER_NAMES = {"apiserver": "API server", "etcd": "etcd", "controller": "controller manager",
               "scheduler": "scheduler", "node": "nodes"}
ROW_ORDER: tuple[str, ...] = ("apiserver", "etcd", "controller", "scheduler", "node")
RANK = {"critical": 2, "warning": 1, "ok": 0, "unseen": -1, "unfinished": -1}

EFFECTS: dict[tuple[str, str], str] = {
    ("etcd", "apiserver"): "every API request waits on etcd, so a slow etcd makes the API server slow (not the "
                           "reverse)",
    ("etcd", "controller"): "the controller manager renews its Lease and writes objects through the API server, "
                            "which waits on etcd",
    ("etcd", "scheduler"): "the scheduler binds pods through the API server, which waits on etcd",
    ("etcd", "node"): "kubelets renew their heartbeat Leases through the API server, which waits on etcd",
    ("apiserver", "controller"): "the controller manager only sees and changes the cluster through the API server",
    ("apiserver", "scheduler"): "the scheduler reads pods and writes bindings through the API server",
    ("apiserver", "node"): "kubelets post status and renew heartbeats through the API server",
    ("node", "scheduler"): "pods pile up Pending when the nodes they could run on are not ready",
    ("node", "controller"): "controllers cannot replace pods that no ready node can take",
    ("controller", "scheduler"): "pending pods follow from what the controllers create",
}


@dataclass
class LayerRow:
    layer: str
    status: Status
    figure: str
    evidence: list[str] = field(default_factory=list)
    unseen: list[str] = field(default_factory=list)
    """What this layer's check could not see (Prometheus down, no ETCD_ENDPOINTS, ...)."""

    @property
    def red(self) -> bool:
        return self.status in ("warning", "critical")

    @property
    def name(self) -> str:
        return LAYER_NAMES.get(self.layer, self.layer)


@dataclass
class Decision:
    layer: str
    severity: str
    summary: str
    reasoning: list[str] = field(default_factory=list)


def _short(row: LayerRow) -> str:
    """What stopped a layer from being seen, once per reason (``Prometheus is not configured``)."""
    reasons: list[str] = []
    for text in row.unseen or [row.status]:
        reason = text.split(": ", 1)[-1]
        reason = reason.split(" (")[0] if len(reason) > 60 else reason
        if reason not in reasons:
            reasons.append(reason)
    return "; ".join(reasons)


def _first(row: LayerRow) -> str:
    return row.evidence[0] if row.evidence else row.figure


def decide(rows: list[LayerRow]) -> Decision:
    by_layer = {row.layer: row for row in rows}
    red = [row for row in rows if row.red]
    blind = [row for row in rows if row.status in ("unseen", "unfinished")]
    not_seen = [f"{row.name} ({'; '.join(row.unseen) or row.status})" for row in blind]
    short = [f"{row.name} ({_short(row)})" for row in blind]
    partial = sorted({text for row in rows if not row.status.startswith("un") for text in row.unseen})
    partly = [f"all of {row.name} ({_short(row)})" for row in rows if not row.status.startswith("un") and row.unseen]
    waiting = {row.layer for row in rows if row.status == "unfinished"}
    if not red and {"apiserver", "controller", "scheduler", "node"} <= waiting | (
            {"apiserver", "controller", "scheduler", "node"} - set(by_layer)) and "apiserver" in waiting:
        return Decision("apiserver", "warning",
                        "Most likely broken layer: API server — no check that reads it finished within the time "
                        "budget (it hangs, or this worker cannot reach it).",
                        [f"Not seen: {text}" for text in not_seen])
    if not red:
        if len(blind) >= 3 or {"apiserver", "etcd"} <= {row.layer for row in blind}:
            return Decision("unknown", "warning",
                            f"Too little could be seen to name a layer: {', '.join(short)}.",
                            [f"Not seen: {text}" for text in not_seen])
        seen = [row.name for row in rows if row.status == "ok"]
        summary = f"No layer looks broken: {', '.join(seen)} healthy"
        if not_seen or partial:
            summary += "; could not see " + "; ".join(short + partly)
        return Decision("none", "info" if (not_seen or partial) else "ok", summary + ".",
                        [f"Not seen: {text}" for text in not_seen + partial])
    top = max(RANK[row.status] for row in red)
    order = {layer: index for index, layer in enumerate(LAYER_ORDER)}
    # the most upstream of the most severe layers; a red etcd explains a red API server whatever its
    # severity (every API request waits on etcd), so it is then named as the cause
    cause = min((row for row in red if RANK[row.status] == top), key=lambda row: order[row.layer])
    if cause.layer == "apiserver" and "etcd" in {row.layer for row in red}:
        cause = by_layer["etcd"]
    severity = "critical" if top == RANK["critical"] else "warning"
    reasoning: list[str] = []
    effects = []
    for row in red:
        if row is cause:
            continue
        why = EFFECTS.get((cause.layer, row.layer))
        upstream = EFFECTS.get((row.layer, cause.layer))
        if why:
            effects.append(row.name)
            reasoning.append(f"{row.name} is red too ({_first(row)}): likely an effect — {why}.")
        elif upstream:
            reasoning.append(f"{row.name} is red too ({_first(row)}) but less severe; it may add to the problem: "
                             f"{upstream}.")
        else:
            reasoning.append(f"{row.name} is red too ({_first(row)}): a separate problem, not explained by "
                             f"{cause.name}.")
    summary = f"Most likely broken layer: {cause.name} — {_first(cause).rstrip('.')}"
    if effects:
        summary += f" ({' and '.join(effects)} red as an effect)"
    if not_seen:
        reasoning.append("Not seen: " + "; ".join(not_seen) + ".")
    missing = [name for name, row in by_layer.items() if row.status in ("unseen", "unfinished")]
    if "etcd" in missing and cause.layer == "apiserver":
        reasoning.append("etcd could not be checked, so a slow etcd behind the API server is not ruled out.")
    return Decision(cause.layer, severity, summary.rstrip(".") + ".", reasoning)
