"""Cluster access: one interface (:class:`clusterdoc.workers.cluster.base.Cluster`), two backends.

``live`` talks to an API server through the ``kubernetes`` client; ``snapshot`` answers from
files in DESIGN.md's snapshot format. Steps only ever see the interface.
"""

from clusterdoc.workers.cluster.base import (
    Cluster,
    ClusterError,
    Forbidden,
    NotFound,
    Unavailable,
)

__all__ = ["Cluster", "ClusterError", "Forbidden", "NotFound", "Unavailable"]
