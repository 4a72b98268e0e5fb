"""Parameters the Prometheus/etcd/control-plane step kinds share, and how they become CheckOptions."""

from __future__ import annotations

from pydantic import Field

from clusterdoc.workers.layers import CheckOptions
from clusterdoc.workers.runbook.registry import StepParams
from clusterdoc.workers.triage.etcd import EtcdThresholds


class LayerParams(StepParams):
    jobs: dict[str, str] = Field(default_factory=dict, description="job matchers by key (apiserver, etcd, "
                                 "scheduler, controller, kubelet, node_exporter), e.g. {etcd: 'job=\"etcd\"'}")
    window: str = Field("5m", pattern=r"^\d+[smh]$", description="rate() window")
    range_minutes: int = Field(60, ge=5, le=1440, description="how far back onsets are looked for")
    step_seconds: int = Field(60, ge=5, le=3600, description="resolution of the range queries")
    charts: bool = Field(True, description="attach a PNG chart per strong signal over its threshold")
    presets: list[str] | None = Field(None, description="only these presets (default: every preset of the layer)")
    max_requests_inflight: int = Field(400, ge=1)
    max_mutating_requests_inflight: int = Field(200, ge=1)
    grace_seconds: float = Field(40.0, gt=0, description="node-monitor-grace-period")
    lease_factor: float = Field(2.0, gt=0, description="a leader Lease older than this many durations is stale")
    pending_warning: int = Field(50, ge=0)
    pending_critical: int = Field(100, ge=0)
    restarts_warning: int = Field(3, ge=1)
    fragmentation: float = Field(1.5, gt=1, description="etcd dbSize/dbSizeInUse over this suggests a defrag")
    db_quota_ratio: float = Field(0.8, gt=0, le=1)
    quota_bytes: int = Field(2 * 1024**3, gt=0, description="etcd --quota-backend-bytes")
    raft_lag: int = Field(1000, ge=1, description="raft entries behind the most advanced member")
    min_defrag_bytes: int = Field(16 * 1024**2, ge=0, description="no defrag offer for a smaller etcd database")

    def options(self) -> CheckOptions:
        return CheckOptions(
            jobs=dict(self.jobs), window=self.window, range_minutes=self.range_minutes,
            step_seconds=self.step_seconds, charts=self.charts,
            presets=tuple(self.presets) if self.presets is not None else None,
            max_readonly=self.max_requests_inflight, max_mutating=self.max_mutating_requests_inflight,
            grace_seconds=self.grace_seconds, lease_factor=self.lease_factor, pending_warning=self.pending_warning,
            pending_critical=self.pending_critical, restarts_warning=self.restarts_warning,
            etcd=EtcdThresholds(self.fragmentation, self.db_quota_ratio, self.raft_lag, self.quota_bytes,
                                self.min_defrag_bytes),
        )
