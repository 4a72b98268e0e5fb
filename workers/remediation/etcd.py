"""etcd maintenance for the ``etcd_defrag`` action: the shared gRPC-gateway client under its old name.

The client itself lives in :mod:`workers.etcd_client` (diagnosis reads status, health, alarms and
members through the same code); this module keeps the name the remediation code and its callers use.
Only members listed in ``ETCD_ENDPOINTS`` are ever contacted, and a process-wide lock makes sure
this worker never defragments two members at once.
"""

from __future__ import annotations

from clusterdoc.workers.etcd_client import DEFRAG_LOCK, EtcdClient

EtcdMaintenance = EtcdClient

__all__ = ["DEFRAG_LOCK", "EtcdMaintenance"]
