"""Where an alert goes and what triage it gets: channel, cluster, runbook and target object.

Matchers follow Alertmanager's syntax and semantics: ``name="value"``, ``name!="value"``,
``name=~"regex"``, ``name!~"regex"`` (quotes optional); regexes are anchored at both ends, and a
label the alert does not carry compares as the empty string. Routes are tried in order and the
first whose matchers all hold wins; otherwise the alert goes to ``CLUSTERDOC_ALERT_CHANNEL``.
The cluster is the alert's ``cluster`` label, else the route's, else the channel's default
cluster (``channels:`` in ``CLUSTERDOC_CONFIG``), else ``CLUSTERDOC_CLUSTER``.
Runbooks come from the built-in kube-prometheus table below, overridable per alertname.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from clusterdoc.alert_config import AlertSettings, Matcher, parse_matcher
from clusterdoc.report import Target

FALLBACK_RUNBOOK = "alert-object"
"""The triage for alerts no runbook knows: describe and events of the object the labels name."""

POD_NOT_READY_RUNBOOK = "pod-not-ready"
"""Chosen by the worker: why-pending for a Pending pod, crashloop otherwise."""

DEFAULT_RUNBOOKS: dict[str, str] = {
    "KubePodCrashLooping": "crashloop",
    "KubeContainerWaiting": "crashloop",
    "KubePodNotReady": POD_NOT_READY_RUNBOOK,
    "KubeDeploymentReplicasMismatch": "deployment",
    "KubeDeploymentRolloutStuck": "deployment",
    "KubeDeploymentGenerationMismatch": "deployment",
    "KubeNodeNotReady": "node",
    "KubeNodeUnreachable": "node",
    "KubeNodeReadinessFlapping": "node",
    "KubeNodePressure": "node",
    "KubeNodeEviction": "node",
    "KubeletPlegDurationHigh": "node",
    "KubeletDown": "node",
    "KubeletTooManyPods": "node",
    "KubeletPodStartUpLatencyHigh": "node",
    "KubeSchedulerDown": "control-plane",
    "KubeSchedulerInstanceUnreachable": "control-plane",
    "KubeControllerManagerDown": "control-plane",
    "KubeControllerManagerInstanceUnreachable": "control-plane",
    "KubeClientCertificateExpiration": "apiserver",
    "KubeVersionMismatch": "apiserver",
    "NodeFilesystemSpaceFillingUp": "node",
    "NodeFilesystemAlmostOutOfSpace": "node",
    # No dedicated runbook yet: the state and events of the object the labels name.
    "KubeStatefulSetReplicasMismatch": "describe",
    "KubeJobFailed": "describe",
    "KubePersistentVolumeFillingUp": "describe",
    # Cluster-wide capacity (requests against allocatable): needs Prometheus, says "not available yet".
    "KubeCPUOvercommit": "capacity",
    "KubeMemoryOvercommit": "capacity",
}
"""kube-prometheus alert names (KNOWLEDGE.md, ``data/kube_prometheus_alerts.tsv``) → runbook."""

PREFIX_RUNBOOKS: tuple[tuple[str, str], ...] = (("etcd", "etcd"), ("KubeAPI", "apiserver"),
                                                ("KubeAggregatedAPI", "apiserver"))


@dataclass(frozen=True)
class Route:
    matchers: tuple[Matcher, ...]
    channel: str
    cluster: str | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(matcher.matches(labels) for matcher in self.matchers)


@dataclass(frozen=True)
class Destination:
    """Where an alert (or a group of alerts) goes."""

    channel: str
    cluster: str


class Router:
    """Routes from the settings plus the fallback channel and cluster."""

    def __init__(self, settings: AlertSettings, fallback_channel: str | None, default_cluster: str,
                 channel_clusters: Mapping[str, str] | None = None) -> None:
        self.channel_clusters = dict(channel_clusters or {})
        self.routes = tuple(
            Route(tuple(parse_matcher(text) for text in route.matchers), route.channel, route.cluster)
            for route in settings.routes
        )
        self.fallback_channel = fallback_channel
        self.default_cluster = default_cluster
        self.runbooks = dict(settings.runbooks)

    def destination(self, labels: Mapping[str, str]) -> Destination | None:
        """The channel and cluster for ``labels``; None when no route matches and there is no fallback."""
        for route in self.routes:
            if route.matches(labels):
                return Destination(route.channel, labels.get("cluster") or route.cluster
                                   or self._channel_cluster(route.channel))
        if not self.fallback_channel:
            return None
        return Destination(self.fallback_channel, labels.get("cluster") or self._channel_cluster(self.fallback_channel))

    def _channel_cluster(self, channel: str) -> str:
        """The channel's default cluster (``channels:`` in CLUSTERDOC_CONFIG), else the default cluster."""
        return self.channel_clusters.get(channel, self.default_cluster)

    def runbook(self, alertname: str) -> str:
        return runbook_for(alertname, self.runbooks)


def runbook_for(alertname: str, overrides: Mapping[str, str] | None = None) -> str:
    """The runbook that triages ``alertname``: an override, a built-in default, or the fallback."""
    if overrides and alertname in overrides:
        return overrides[alertname]
    if alertname in DEFAULT_RUNBOOKS:
        return DEFAULT_RUNBOOKS[alertname]
    for prefix, runbook in PREFIX_RUNBOOKS:
        if alertname.startswith(prefix):
            return runbook
    return FALLBACK_RUNBOOK


_NAMESPACED_LABELS: tuple[tuple[str, str], ...] = (
    ("pod", "Pod"),
    ("deployment", "Deployment"),
    ("statefulset", "StatefulSet"),
    ("daemonset", "DaemonSet"),
    ("job_name", "Job"),
    ("persistentvolumeclaim", "PersistentVolumeClaim"),
)


def target_from_labels(labels: Mapping[str, str]) -> Target | None:
    """The object an alert's labels name: ``namespace`` + ``pod``/``deployment``/..., or a node.

    ``node`` names a node; ``instance`` does too when nothing else is named (its ``:port`` is cut).
    """
    namespace = labels.get("namespace")
    if namespace:
        for label, kind in _NAMESPACED_LABELS:
            if labels.get(label):
                return Target(kind, labels[label], namespace)
    if labels.get("node"):
        return Target("Node", labels["node"])
    instance = labels.get("instance", "")
    if instance:
        host = instance.rsplit(":", 1)[0] if instance.count(":") == 1 else instance
        if host and not host.replace(".", "").isdigit():
            return Target("Node", host)
    return None
