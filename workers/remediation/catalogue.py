"""The remediation catalogue: every action by name."""

from __future__ import annotations

from clusterdoc.report import Report
from clusterdoc.workers.remediation import actions
from clusterdoc.workers.remediation.base import Action

ACTIONS: dict[str, Action] = {action.name: action for action in actions.ACTIONS}


def get(name: str) -> Action:
    """The action called ``name``; KeyError with the known names otherwise."""
    try:
        return ACTIONS[name]
    except KeyError:
        raise KeyError(f"unknown remediation {name!r}; known: {', '.join(sorted(ACTIONS))}") from None


def use_catalogue_risks(report: Report) -> None:
    """Give each remediation of ``report`` its action's risk from this catalogue, so the report and
    the Approve message can never disagree (a copy-paste ``snippet`` keeps the step's own risk)."""
    for remediation in report.remediations:
        action = ACTIONS.get(remediation.action)
        if action is not None:
            remediation.risk = action.risk
