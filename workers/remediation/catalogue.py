"""The remediation catalogue: every action by name."""

from __future__ import annotations

from clusterdoc.workers.remediation import actions
from clusterdoc.workers.remediation.base import Action

ACTIONS: dict[str, Action] = {action.name: action for action in actions.ACTIONS}


def get(name: str) -> Action:
    """The action called ``name``; KeyError with the known names otherwise."""
    try:
        return ACTIONS[name]
    except KeyError:
        raise KeyError(f"unknown remediation {name!r}; known: {', '.join(sorted(ACTIONS))}") from None
