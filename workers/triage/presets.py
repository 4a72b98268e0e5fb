"""Metric presets: one per signal of KNOWLEDGE.md's layer table, with its warning/critical thresholds.

Expressions come from the kube-prometheus rules (``data/kube_prometheus_alerts.tsv``) where one
exists, rewritten to keep the label that says *which* series carries the signal (the resource,
the node, the member). ``$apiserver``, ``$etcd``, ``$scheduler``, ``$controller``, ``$kubelet`` and
``$node_exporter`` stand for the job matchers (configurable; kube-prometheus' by default);
``$window`` is the rate window.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template
from typing import Literal

Unit = Literal["seconds", "ratio", "percent", "bytes", "count", "per_second"]
Direction = Literal["above", "below"]

DEFAULT_JOBS: dict[str, str] = {
    "apiserver": 'job="apiserver"',
    "etcd": 'job=~".*etcd.*"',
    "scheduler": 'job="kube-scheduler"',
    "controller": 'job="kube-controller-manager"',
    "kubelet": 'job="kubelet"',
    "node_exporter": 'job="node-exporter"',
}
"""Job matchers as kube-prometheus labels its scrape jobs (other stacks: override per key)."""


@dataclass(frozen=True)
class Preset:
    """A named PromQL signal with the layer it belongs to and when it is bad."""

    name: str
    layer: str
    title: str
    expr: str
    unit: Unit
    warning: float
    critical: float
    direction: Direction = "above"
    series_labels: tuple[str, ...] = ()
    """Labels that name the carrier (``resource``, ``node``, ``instance``); shown in that order."""
    source: str = "KNOWLEDGE.md"
    strong: bool = True
    """Worth a chart when over threshold."""

    def promql(self, jobs: dict[str, str] | None = None, window: str = "5m", max_readonly: int = 400,
               max_mutating: int = 200) -> str:
        """The expression with job matchers, rate window and inflight limits filled in."""
        matchers = {**DEFAULT_JOBS, **(jobs or {})}
        return Template(self.expr).safe_substitute(matchers, window=window, max_readonly=str(max_readonly),
                                                   max_mutating=str(max_mutating))

    def over(self, value: float) -> str | None:
        """``critical``/``warning`` when ``value`` crosses a threshold, else None."""
        if self.direction == "above":
            if value > self.critical:
                return "critical"
            if value > self.warning:
                return "warning"
            return None
        if value < self.critical:
            return "critical"
        if value < self.warning:
            return "warning"
        return None


def _p99(metric: str, job: str, by: str, extra: str = "") -> str:
    matcher = f"{job}{', ' + extra if extra else ''}"
    return f"histogram_quantile(0.99, sum by ({by}, le) (rate({metric}_bucket{{{matcher}}}[$window])))"


PRESETS: tuple[Preset, ...] = (
    Preset("apiserver-latency", "apiserver", "API server request p99",
           _p99("apiserver_request_duration_seconds", "$apiserver", "verb, group, resource",
                'verb!~"WATCH|CONNECT"'),
           "seconds", 0.5, 1.0, series_labels=("verb", "group", "resource"),
           source="KNOWLEDGE.md (p99 > 1 s, warn at 500 ms); kube-prometheus KubeAPILatencyHigh"),
    Preset("apiserver-errors", "apiserver", "API server 5xx ratio",
           'sum(rate(apiserver_request_total{$apiserver, code=~"5.."}[$window])) '
           "/ sum(rate(apiserver_request_total{$apiserver}[$window]))",
           "ratio", 0.01, 0.05, source="KNOWLEDGE.md (5xx > 1 %); kube-prometheus KubeAPIErrorsHigh (5 %)"),
    Preset("apiserver-inflight", "apiserver", "API server inflight requests vs limit",
           'max by (request_kind) (apiserver_current_inflight_requests{$apiserver, request_kind="readOnly"}) '
           "/ $max_readonly or "
           'max by (request_kind) (apiserver_current_inflight_requests{$apiserver, request_kind="mutating"}) '
           "/ $max_mutating",
           "ratio", 0.8, 1.0, series_labels=("request_kind",),
           source="KNOWLEDGE.md (--max-requests-inflight 400, mutating 200)"),
    Preset("apiserver-apf-rejections", "apiserver", "API server APF rejections",
           "sum by (priority_level, reason) (rate(apiserver_flowcontrol_rejected_requests_total{$apiserver}[$window]))",
           "per_second", 0.0, 1.0, series_labels=("priority_level", "reason")),
    Preset("etcd-fsync", "etcd", "etcd WAL fsync p99",
           _p99("etcd_disk_wal_fsync_duration_seconds", "$etcd", "instance"),
           "seconds", 0.01, 0.1, series_labels=("instance",),
           source="KNOWLEDGE.md (> 10 ms unhealthy, > 100 ms incident); kube-prometheus etcdHighFsyncDurations"),
    Preset("etcd-commit", "etcd", "etcd backend commit p99",
           _p99("etcd_disk_backend_commit_duration_seconds", "$etcd", "instance"),
           "seconds", 0.1, 0.25, series_labels=("instance",),
           source="KNOWLEDGE.md (write latency > 100 ms); kube-prometheus etcdHighCommitDurations (250 ms)"),
    Preset("etcd-db-quota", "etcd", "etcd database size vs quota",
           "last_over_time(etcd_mvcc_db_total_size_in_bytes{$etcd}[$window]) "
           "/ last_over_time(etcd_server_quota_backend_bytes{$etcd}[$window])",
           "ratio", 0.8, 0.95, series_labels=("instance",),
           source="KNOWLEDGE.md (> 80 % of quota); kube-prometheus etcdDatabaseQuotaLowSpace (95 %)"),
    Preset("etcd-fragmentation", "etcd", "etcd fragmentation (db size / in use)",
           "last_over_time(etcd_mvcc_db_total_size_in_bytes{$etcd}[$window]) "
           "/ last_over_time(etcd_mvcc_db_total_size_in_use_in_bytes{$etcd}[$window])",
           "count", 1.5, 2.0, series_labels=("instance",), strong=False,
           source="KNOWLEDGE.md (> 1.5 suggests defrag); kube-prometheus etcdDatabaseHighFragmentationRatio"),
    Preset("etcd-leader-changes", "etcd", "etcd leader changes (15 min)",
           "max without (instance, pod) (increase(etcd_server_leader_changes_seen_total{$etcd}[15m]))",
           "count", 3.0, 8.0, source="kube-prometheus etcdHighNumberOfLeaderChanges (>= 4)"),
    Preset("etcd-db-growth", "etcd", "etcd database predicted in 4 h vs quota",
           "predict_linear(etcd_mvcc_db_total_size_in_bytes{$etcd}[1h], 4 * 3600) "
           "/ last_over_time(etcd_server_quota_backend_bytes{$etcd}[$window])",
           "ratio", 0.9, 1.0, series_labels=("instance",), strong=False,
           source="kube-prometheus etcdExcessiveDatabaseGrowth"),
    Preset("etcd-write-load", "etcd", "API writes per resource (etcd load)",
           'sum by (resource) (rate(apiserver_request_total{$apiserver, verb=~"POST|PUT|PATCH|DELETE", '
           'resource!~"leases|events|tokenreviews|subjectaccessreviews|selfsubjectaccessreviews"}[$window]))',
           "per_second", 20.0, 50.0, series_labels=("resource",),
           source="KNOWLEDGE.md story 2 (a ConfigMap updated 50 times a second)"),
    Preset("etcd-has-leader", "etcd", "etcd member has a leader",
           "etcd_server_has_leader{$etcd}", "count", 1.0, 1.0, direction="below", series_labels=("instance",),
           source="kube-prometheus etcdNoLeader"),
    Preset("scheduler-pending", "scheduler", "scheduler pending pods",
           "sum by (queue) (scheduler_pending_pods{$scheduler})",
           "count", 50.0, 100.0, series_labels=("queue",), source="KNOWLEDGE.md (pending queue > 100)"),
    Preset("scheduler-latency", "scheduler", "scheduling attempt p99",
           _p99("scheduler_scheduling_attempt_duration_seconds", "$scheduler", "result"),
           "seconds", 5.0, 10.0, series_labels=("result",), source="KNOWLEDGE.md (scheduling p99 > 10 s)"),
    Preset("controller-queue-latency", "controller", "controller workqueue wait p99",
           _p99("workqueue_queue_duration_seconds", "$controller", "name"),
           "seconds", 5.0, 10.0, series_labels=("name",), source="KNOWLEDGE.md (queue duration p99 > 10 s)"),
    Preset("controller-queue-depth", "controller", "controller workqueue depth",
           "sum by (name) (workqueue_depth{$controller})",
           "count", 100.0, 1000.0, series_labels=("name",), strong=False),
    Preset("kubelet-pleg", "node", "kubelet PLEG relist p99",
           _p99("kubelet_pleg_relist_duration_seconds", "$kubelet", "node, instance"),
           "seconds", 3.0, 10.0, series_labels=("node", "instance"),
           source="KNOWLEDGE.md (PLEG relist > 10 s); kube-prometheus KubeletPlegDurationHigh"),
    Preset("node-memory", "node", "node memory available",
           "node_memory_MemAvailable_bytes{$node_exporter} / node_memory_MemTotal_bytes{$node_exporter}",
           "ratio", 0.15, 0.10, direction="below", series_labels=("node", "instance"),
           source="KNOWLEDGE.md (memory available < 10 %)"),
    Preset("kubelet-cert-ttl", "node", "kubelet client certificate TTL",
           "kubelet_certificate_manager_client_ttl_seconds{$kubelet}",
           "seconds", 7 * 86400.0, 86400.0, direction="below", series_labels=("node", "instance"), strong=False,
           source="kube-prometheus KubeletClientCertificateExpiration (7 d / 1 d)"),
)

PRESET_BY_NAME: dict[str, Preset] = {preset.name: preset for preset in PRESETS}
LAYER_PRESETS: dict[str, tuple[str, ...]] = {
    layer: tuple(p.name for p in PRESETS if p.layer == layer)
    for layer in ("apiserver", "etcd", "controller", "scheduler", "node")
}
"""Preset names per layer, in the order the table lists them."""
