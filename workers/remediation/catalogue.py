"""The remediation catalogue: every action by name."""

from __future__ import annotations

from pydantic import ValidationError

from clusterdoc.report import Remediation, Report
from clusterdoc.workers.remediation import actions
from clusterdoc.workers.remediation.base import Action, Risk

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
        if remediation.action in ACTIONS:
            remediation.risk = risk_of(remediation)


def risk_of(remediation: Remediation) -> Risk:
    """The catalogue's risk for this remediation: its action's, as its parameters make it (a
    ``delete_pod`` with ``force`` is high); parameters that do not parse get the action's own risk."""
    action = get(remediation.action)
    try:
        params = action.parse_params(remediation.params)
    except ValidationError:
        return action.risk
    return action.risk_for(params)
