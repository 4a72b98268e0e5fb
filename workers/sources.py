"""Where the worker's steps read beyond the API server: Prometheus and etcd, from the environment.

:func:`current` builds them from ``PROMETHEUS_*`` / ``ETCD_*`` (and the ``prometheus.jobs`` of
``CLUSTERDOC_CONFIG``) each time a run asks, so a worker, ``clusterdoc ask`` and the tests all
see the configuration of the moment. A malformed setting is not an exception here: it becomes the
``problem`` the steps report as what they could not see.
"""

from __future__ import annotations

from dataclasses import dataclass

from clusterdoc.config import ConfigError, load_settings
from clusterdoc.workers.etcd_client import EtcdClient
from clusterdoc.workers.prom import Prometheus, PromSettings


@dataclass
class Sources:
    prometheus: Prometheus
    etcd: EtcdClient | None
    problem: str = ""
    etcd_problem: str = ""


def current() -> Sources:
    """Prometheus and etcd as the environment configures them now."""
    try:
        settings = load_settings()
        jobs = settings.file_config().prometheus.jobs
    except ConfigError as exc:
        return Sources(Prometheus(PromSettings(None)), None, problem=f"configuration: {exc}",
                       etcd_problem=f"configuration: {exc}")
    prometheus = Prometheus(PromSettings(
        settings.PROMETHEUS_URL, settings.PROMETHEUS_TOKEN, settings.PROMETHEUS_USERNAME,
        settings.PROMETHEUS_PASSWORD, settings.PROMETHEUS_CACERT, settings.PROMETHEUS_TIMEOUT,
        tuple(sorted(jobs.items())),
    ))
    etcd = None
    etcd_problem = ""
    if settings.ETCD_ENDPOINTS:
        etcd = EtcdClient.from_settings(settings.ETCD_ENDPOINTS, settings.ETCD_CACERT, settings.ETCD_CERT,
                                        settings.ETCD_KEY, timeout=settings.ETCD_TIMEOUT)
    else:
        etcd_problem = "etcd is not configured (ETCD_ENDPOINTS is not set)"
    return Sources(prometheus, etcd, etcd_problem=etcd_problem)
