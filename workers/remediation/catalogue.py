"""The remediation catalogue: every action by name."""

from __future__ import annotations

from clusterdoc.workers.remediation.actions.cordon_node import CordonNode
from clusterdoc.workers.remediation.actions.delete_pod import DeletePod
from clusterdoc.workers.remediation.actions.drain_node import DrainNode
from clusterdoc.workers.remediation.actions.etcd_defrag import EtcdDefrag
from clusterdoc.workers.remediation.actions.rollback_deployment import RollbackDeployment
from clusterdoc.workers.remediation.actions.rollout_restart import RolloutRestart
from clusterdoc.workers.remediation.actions.scale import Scale
from clusterdoc.workers.remediation.actions.uncordon_node import UncordonNode
from clusterdoc.workers.remediation.base import Action

ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        DeletePod(), RolloutRestart(), Scale(), CordonNode(), UncordonNode(), DrainNode(), RollbackDeployment(),
        EtcdDefrag(),
    )
}


def get(name: str) -> Action:
    """The action called ``name``; KeyError with the known names otherwise."""
    try:
        return ACTIONS[name]
    except KeyError:
        raise KeyError(f"unknown remediation {name!r}; known: {', '.join(sorted(ACTIONS))}") from None
