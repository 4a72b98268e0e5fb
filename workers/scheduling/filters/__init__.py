"""kube-scheduler's filter plugins, one module each, in the default profile's order.

The order is ``pkg/scheduler/apis/config/v1/default_plugins.go`` (1.25+, unchanged in
substance since 1.19): the scheduler stops at the first plugin that rejects a node, which is why
its message counts each node under one plugin's reasons. clusterdoc runs every plugin so each
node gets all its blockers, and replays the first-failure rule to reconcile with the message.
DynamicResources comes last, as the feature gate appended it to the default profile (1.26-1.33).
"""

from __future__ import annotations

from clusterdoc.workers.scheduling.filters import (
    dynamic_resources,
    inter_pod_affinity,
    node_affinity,
    node_name,
    node_ports,
    node_resources_fit,
    node_unschedulable,
    node_volume_limits,
    pod_topology_spread,
    taint_toleration,
    volume_binding,
    volume_restrictions,
    volume_zone,
)
from clusterdoc.workers.scheduling.filters.base import Blocker, Plugin

PLUGINS: tuple[Plugin, ...] = (
    node_unschedulable.PLUGIN,
    node_name.PLUGIN,
    taint_toleration.PLUGIN,
    node_affinity.PLUGIN,
    node_ports.PLUGIN,
    node_resources_fit.PLUGIN,
    volume_restrictions.PLUGIN,
    node_volume_limits.PLUGIN,
    volume_binding.PLUGIN,
    volume_zone.PLUGIN,
    pod_topology_spread.PLUGIN,
    inter_pod_affinity.PLUGIN,
    dynamic_resources.PLUGIN,
)

__all__ = ["PLUGINS", "Blocker", "Plugin"]
