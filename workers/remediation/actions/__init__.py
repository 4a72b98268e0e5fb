"""Remediation actions: one module each, exposing one ``ACTION``; this tuple is the catalogue.

To add an action: write ``workers/remediation/actions/<name>.py`` with an :class:`Action` subclass
(its ``name``, parameter model, ``describe``/``observe``/``precheck``/``apply``) and
``ACTION = TheAction()``, then list it here.
"""

from clusterdoc.workers.remediation.actions import (
    cordon_node,
    delete_pod,
    drain_node,
    etcd_defrag,
    rollback_deployment,
    rollout_restart,
    scale,
    uncordon_node,
)
from clusterdoc.workers.remediation.base import Action

ACTIONS: tuple[Action, ...] = (
    delete_pod.ACTION,
    rollout_restart.ACTION,
    scale.ACTION,
    cordon_node.ACTION,
    uncordon_node.ACTION,
    drain_node.ACTION,
    rollback_deployment.ACTION,
    etcd_defrag.ACTION,
)

__all__ = ["ACTIONS"]
