"""Opens the cluster a process works on: a snapshot when one is named, else the live API server."""

from __future__ import annotations

from pathlib import Path

from clusterdoc.workers.cluster.base import Cluster
from clusterdoc.workers.cluster.live import LiveCluster, load_configuration
from clusterdoc.workers.cluster.snapshot import SnapshotCluster


def open_cluster(name: str, *, snapshot: str | Path | None = None, kubeconfig: str | None = None) -> Cluster:
    """A :class:`SnapshotCluster` for ``snapshot``, else a :class:`LiveCluster` (kubeconfig or in-cluster).

    Raises ``clusterdoc.workers.cluster.base.ClusterError`` with a readable message when neither works.
    """
    if snapshot:
        return SnapshotCluster.from_path(snapshot, name)
    return LiveCluster(load_configuration(kubeconfig), name)
