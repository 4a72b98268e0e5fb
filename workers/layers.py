"""The five layer checks (API server, etcd, controller manager, scheduler, nodes): read, then judge.

Each check reads what it needs — Prometheus presets for its layer, the etcd members, the
control plane's own objects (leader Leases, static pods, nodes and their heartbeat Leases,
Pending pods) — hands it to the pure judges in :mod:`workers.triage`, and returns a
:class:`LayerCheck`: the layer's row for the triage table, findings with the evidence, charts and
remediation offers. The ``metrics``, ``etcd``, ``control-plane`` and ``triage`` steps are thin
wrappers around these functions.

Cluster reads are shared through :class:`Reads` (each LIST or GET made once per run, whatever
the number of checks that need it, even from several threads), and every LIST is paged or
field-selected: no per-object calls, whatever the cluster's size.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from clusterdoc.humanize import human_duration, one_line, parse_time
from clusterdoc.report import Attachment, Facts, Finding, Remediation, Severity, Table, Target, Text
from clusterdoc.workers.cluster.base import Cluster, ClusterError, NotFound, Obj, Unavailable
from clusterdoc.workers.prom import PrometheusProblem
from clusterdoc.workers.sources import Sources
from clusterdoc.workers.triage import control_plane as cp
from clusterdoc.workers.triage import etcd as etcd_view
from clusterdoc.workers.triage.presets import LAYER_PRESETS, PRESET_BY_NAME, Preset
from clusterdoc.workers.triage.signals import Judgement, fmt, judge, sparkline
from clusterdoc.workers.triage.verdict import LayerRow

T = TypeVar("T")
SEVERITY = {"critical": Severity.CRITICAL, "warning": Severity.WARNING, "ok": Severity.OK, "info": Severity.INFO}
STATUS_RANK = {"ok": 0, "warning": 1, "critical": 2}
STUCK_TERMINATING_SECONDS = 300
MAX_LOST_NODES = 10


@dataclass(frozen=True)
class CheckOptions:
    """Thresholds and knobs of the layer checks (every one overridable from the runbook)."""

    jobs: dict[str, str] = field(default_factory=dict)
    window: str = "5m"
    range_minutes: int = 60
    step_seconds: int = 60
    charts: bool = True
    presets: tuple[str, ...] | None = None
    max_readonly: int = 400
    max_mutating: int = 200
    grace_seconds: float = 40.0
    lease_factor: float = 2.0
    pending_warning: int = 50
    pending_critical: int = 100
    restarts_warning: int = 3
    etcd: etcd_view.EtcdThresholds = field(default_factory=etcd_view.EtcdThresholds)


@dataclass
class LayerCheck:
    row: LayerRow
    findings: list[Finding] = field(default_factory=list)
    remediations: list[Remediation] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    """Signals Prometheus has no current series for, while others of the layer answered."""

    def add(self, status: str, evidence: str) -> None:
        """Raise the row's status to ``status`` (never lower) and record the evidence."""
        if STATUS_RANK.get(status, 0) > STATUS_RANK.get(self.row.status, -1) or self.row.status in (
                "unseen", "unfinished"):
            self.row.status = status  # type: ignore[assignment]
        if status != "ok":
            self.row.evidence.append(evidence)


class Reads:
    """The cluster reads of one run, each made once and shared between threads."""

    def __init__(self, cluster: Cluster, now: datetime) -> None:
        self.cluster, self.now = cluster, now
        self._values: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def once(self, key: str, read: Callable[[], T]) -> T:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._values:
                try:
                    self._values[key] = ("ok", read())
                except ClusterError as exc:
                    self._values[key] = ("error", exc)
            state, value = self._values[key]
        if state == "error":
            raise value
        return value

    def version(self) -> str:
        return str(self.once("version", self.cluster.version).get("gitVersion") or "")

    def static_pods(self) -> list[Obj]:
        return self.once("static-pods", lambda: [
            pod for pod in self.cluster.list("Pod", "kube-system", allow_stale=True)
            if cp.component_of(pod) is not None])

    def lease(self, name: str) -> Obj | None:
        def read() -> Obj | None:
            try:
                return self.cluster.get("Lease", name, "kube-system")
            except NotFound:
                return None
        return self.once(f"lease/{name}", read)

    def nodes(self) -> list[Obj]:
        return self.once("nodes", lambda: list(self.cluster.list("Node", allow_stale=True)))

    def node_leases(self) -> dict[str, Obj]:
        return self.once("node-leases", lambda: {
            (lease.get("metadata") or {}).get("name", ""): lease
            for lease in self.cluster.list("Lease", "kube-node-lease", allow_stale=True)})

    def pending_pods(self) -> list[Obj]:
        return self.once("pending", lambda: list(self.cluster.list(
            "Pod", field_selector="status.phase=Pending", allow_stale=True)))

    def apiserver_minor(self) -> int | None:
        try:
            parsed = cp.minor_of(self.version())
        except ClusterError:
            parsed = None
        if parsed is None:
            try:
                images = [cp.image_version(p) for p in self.static_pods() if cp.component_of(p) == "kube-apiserver"]
            except ClusterError:
                images = []
            parsed = next((cp.minor_of(v) for v in images if cp.minor_of(v)), None)
        return parsed[1] if parsed else None


# -- metrics -------------------------------------------------------------------------------------


def presets_for(layer: str, options: CheckOptions) -> list[Preset]:
    names = LAYER_PRESETS.get(layer, ())
    if options.presets is not None:
        names = tuple(name for name in names if name in options.presets)
    return [PRESET_BY_NAME[name] for name in names]


def read_metrics(sources: Sources, presets: list[Preset], options: CheckOptions, end: float
                 ) -> tuple[list[Judgement], list[str], list[str]]:
    """(judgements, what could not be seen, the PromQL of each preset) for ``presets`` over the range."""
    judgements: list[Judgement] = []
    unseen: list[str] = []
    queries: list[str] = []
    start = end - options.range_minutes * 60
    for index, preset in enumerate(presets):
        promql = preset.promql({**dict(sources.prometheus.settings.jobs), **options.jobs}, options.window,
                               options.max_readonly, options.max_mutating)
        queries.append(promql)
        try:
            series = sources.prometheus.query_range(promql, start, end, options.step_seconds)
        except PrometheusProblem as exc:
            rest = presets[index:]
            if exc.kind in ("unconfigured", "unreachable", "timeout"):
                what = rest[0].title if len(rest) == 1 else f"{len(rest)} {rest[0].layer} metrics"
                unseen.append(f"{what}: {exc}")
                break
            unseen.append(f"{preset.title}: {exc}")
            continue
        judgements.append(judge(preset, series, end))
    absent = [j for j in judgements if j.absent]
    if judgements and len(absent) == len(judgements):
        layer = presets[0].layer
        unseen.append(f"{layer} metrics: Prometheus has no current series for any of them (check the job matchers, "
                      f"e.g. `{one_line(queries[0], 120)}`)")
    return judgements, unseen, queries


def _chart_name(preset: Preset, carrier: str) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in f"{preset.name}-{carrier}".lower()).strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    return slug[:80] + ".png"


def metric_findings(step: str, judgements: list[Judgement], options: CheckOptions, end: float,
                    check: LayerCheck) -> None:
    """Findings (value, threshold, onset, carrier, sparkline), charts and offers for breaching presets."""
    absent = [j.preset.title for j in judgements if j.absent]
    if absent and len(absent) < len(judgements):
        check.absent.extend(absent)
    for judgement in judgements:
        preset = judgement.preset
        if not judgement.breaches:
            continue
        top = judgement.breaches[0]
        everywhere = len(judgement.breaches) == judgement.current and judgement.current > 1
        sentence = top.sentence(end, judgement.current if everywhere else 1)
        check.add(top.severity, sentence)
        facts: list[tuple[str, str]] = [
            ("Now", fmt(top.value, preset.unit)),
            ("Threshold", f"warning {fmt(preset.warning, preset.unit)}, critical {fmt(preset.critical, preset.unit)}"),
            ("Trend", sparkline([v for _, v in top.series.finite()]) + f"  (last {options.range_minutes} min)"),
        ]
        if top.carrier:
            facts.insert(0, ("Carried by", top.carrier))
        blocks: list[Any] = [Facts(tuple(facts))]
        if len(judgement.breaches) > 1:
            blocks.append(Table(("SERIES", "NOW", "SINCE"), tuple(
                (b.carrier or "-", fmt(b.value, preset.unit),
                 datetime.fromtimestamp(b.onset, UTC).strftime("%H:%M") if b.onset else "whole range")
                for b in judgement.breaches[:10])))
        blocks.append(Text(f"Source: {preset.source}"))
        detail = ""
        if preset.name == "apiserver-latency":
            detail = _dominant_resource(judgement)
        check.findings.append(Finding(step, SEVERITY[top.severity], sentence, detail, blocks))
        if options.charts and preset.strong:
            from clusterdoc.workers.charts import chart_png

            check.attachments.append(Attachment(_chart_name(preset, top.carrier), sentence, chart_png(judgement),
                                                step=step))
        check.remediations.extend(_metric_offers(judgement))


def _dominant_resource(judgement: Judgement) -> str:
    """Which resource carries the API server's latency: the bad-CRD story's evidence."""
    slow = [b for b in judgement.breaches if b.series.labels.get("resource")]
    if not slow:
        return ""
    resources = {(b.series.labels.get("group") or "core", b.series.labels["resource"]) for b in slow}
    top = slow[0].series.labels
    name = f"{top['resource']}{'.' + top['group'] if top.get('group') else ''}"
    if len(resources) == 1:
        custom = " (a custom resource: its CRD's validation or conversion webhook is the suspect)" if top.get(
            "group") and "." in top.get("group", "") and not top["group"].endswith("k8s.io") else ""
        return f"All slow requests are for {name}{custom}; other resources are under the threshold."
    return f"Slowest: {name}; {len(resources)} resources over the threshold."


def _metric_offers(judgement: Judgement) -> list[Remediation]:
    preset = judgement.preset
    offers: list[Remediation] = []
    if preset.name in ("kubelet-pleg", "node-memory"):
        for breach in judgement.breaches[:3]:
            node = breach.series.labels.get("node")
            if not node or breach.severity != "critical":
                continue
            why = "PLEG relist is too slow" if preset.name == "kubelet-pleg" else "memory available is too low"
            offers.append(Remediation("cordon_node", Target("Node", node), "low",
                                      f"Cordon node {node} ({why}: {fmt(breach.value, preset.unit)}) so no new "
                                      "pods land on it while it is investigated."))
            offers.append(Remediation("drain_node", Target("Node", node), "high",
                                      f"Drain node {node}: evict its pods (respecting PodDisruptionBudgets) so they "
                                      f"run elsewhere; {why}."))
    return offers


def metrics_check(layer: str, sources: Sources, options: CheckOptions, end: float, step: str) -> LayerCheck:
    check = LayerCheck(LayerRow(layer, "unseen", ""))
    presets = presets_for(layer, options)
    judgements, unseen, _ = read_metrics(sources, presets, options, end)
    check.row.unseen.extend(unseen)
    if any(not j.absent for j in judgements):
        check.row.status = "ok"
    metric_findings(step, judgements, options, end, check)
    for judgement in judgements:
        if judgement.peak and not check.row.figure and judgement.preset.strong:
            value, carrier = judgement.peak
            where = f" ({carrier})" if carrier and judgement.preset.series_labels else ""
            check.row.figure = f"{judgement.preset.title} {fmt(value, judgement.preset.unit)}{where}"
    return check


def _merge(into: LayerCheck, other: LayerCheck) -> None:
    for evidence in other.row.evidence:
        into.row.evidence.append(evidence)
    status = other.row.status
    if status in ("ok", "warning", "critical") and (
            into.row.status in ("unseen", "unfinished") or STATUS_RANK[status] > STATUS_RANK[into.row.status]):
        into.row.status = status
    into.row.unseen.extend(other.row.unseen)
    into.row.figure = into.row.figure or other.row.figure
    into.findings.extend(other.findings)
    into.remediations.extend(other.remediations)
    into.attachments.extend(other.attachments)
    into.absent.extend(other.absent)


def unseen_finding(step: str, what: str, unseen: list[str]) -> Finding:
    return Finding(step, Severity.WARNING, f"Could not see {what}", "; ".join(unseen)[:1500])


def absent_finding(step: str, absent: list[str]) -> Finding:
    return Finding(step, Severity.INFO, f"No current series for {len(absent)} signal(s)",
                   "Prometheus has no series for: " + ", ".join(absent) + " (some appear only once the event "
                   "happens, e.g. APF rejections or leader changes; else check the job matchers).")


# -- API server ----------------------------------------------------------------------------------


def check_apiserver(reads: Reads, sources: Sources, options: CheckOptions, end: float, step: str) -> LayerCheck:
    check = metrics_check("apiserver", sources, options, end, step)
    try:
        version = reads.version()
        if check.row.status in ("unseen", "unfinished"):
            check.row.status = "ok"
        check.row.figure = check.row.figure or f"answers, {version}"
    except Unavailable as exc:
        check.add("critical", f"API server unreachable: {exc}")
        check.findings.append(Finding(step, Severity.CRITICAL, "API server unreachable", str(exc)))
        check.row.figure = "unreachable"
    except ClusterError as exc:
        check.row.unseen.append(f"API server version: {exc}")
    if check.row.unseen and check.row.status not in ("unseen", "unfinished"):
        check.findings.append(unseen_finding(step, "all API server metrics", check.row.unseen))
    return check


# -- etcd ------------------------------------------------------------------------------------------


def check_etcd_members(reads: Reads, sources: Sources, options: CheckOptions, step: str) -> LayerCheck:
    """Every member's status, health and alarms; quorum; version vs the API server; defrag offer."""
    check = LayerCheck(LayerRow("etcd", "unseen", ""))
    if sources.etcd is None:
        check.row.unseen.append(sources.etcd_problem or "etcd is not configured")
        return check
    survey = sources.etcd.survey()
    view = etcd_view.view(survey, options.etcd)
    rows = tuple(
        (s.name or "?", s.endpoint, "leader" if s.is_leader else ("follower" if s.answered else "-"),
         s.version or "-", f"{s.raft_term}/{s.raft_index}" if s.answered else "-",
         f"{fmt(s.db_size, 'bytes')} / {fmt(s.db_size_in_use, 'bytes')}" if s.answered else "-",
         f"{etcd_view.fragmentation(s):.2f}" if s.answered else "-",
         ", ".join(s.alarms) or ("" if s.answered else one_line(s.error, 120)))
        for s in survey.statuses)
    table = Table(("MEMBER", "ENDPOINT", "ROLE", "VERSION", "TERM/INDEX", "DB / IN USE", "FRAG", "ALARMS / ERROR"),
                  rows)
    quorum = (f"{len(view.answering)}/{view.members} members answer; quorum {view.quorum}; "
              + (f"{view.can_fail} more can fail before writes stop" if view.has_quorum else "QUORUM LOST"))
    if not view.answering:
        # nothing answered: etcd may be down, or this worker cannot reach it (network, TLS) — the
        # API server's own health tells which; say what could not be seen rather than guess
        first = survey.statuses[0].error if survey.statuses else "no endpoints"
        check.row.unseen.append(f"etcd members: no member answered ({first.rsplit(': ', 1)[-1]})")
        check.row.figure = f"0/{view.members} members answer"
        check.findings.append(Finding(step, Severity.WARNING, f"No etcd member answers (0 of {view.members})",
                                      "etcd is down, or this worker cannot reach it (network policy, TLS "
                                      "settings ETCD_CACERT/ETCD_CERT/ETCD_KEY). Errors: "
                                      + "; ".join(one_line(s.error, 200) for s in survey.statuses), [table]))
        return check
    check.row.status = "ok"
    check.row.figure = f"{len(view.answering)}/{view.members} members, leader {view.leader_name or 'none'}"
    if not view.has_quorum:
        check.add("critical", f"etcd has no quorum: {len(view.answering)} of {view.members} members answer "
                              f"(needs {view.quorum}); writes stop, the API server cannot persist anything")
    elif view.silent:
        names = ", ".join(s.endpoint for s in view.silent)
        check.add("warning", f"etcd degraded: {names} does not answer; quorum holds ({quorum})")
    if view.has_quorum and len(view.leaders) != 1:
        check.add("critical", f"etcd members disagree on the leader or have none: {sorted(view.leaders) or 'none'}")
    for status, lag in view.lagging:
        check.add("warning", f"etcd member {status.name or status.endpoint} lags {lag} raft entries behind")
    for status, ratio in view.near_quota:
        check.add("critical" if ratio > 0.95 else "warning",
                  f"etcd member {status.name or status.endpoint} database {fmt(status.db_size, 'bytes')} is "
                  f"{ratio:.0%} of the quota")
    for alarm in view.alarms:
        check.add("critical", f"etcd alarm {alarm} (NOSPACE makes the cluster read-only)")
    for status, ratio in view.fragmented:
        check.add("warning", f"etcd member {status.name or status.endpoint} is fragmented: "
                             f"{fmt(status.db_size, 'bytes')} on disk, {fmt(status.db_size_in_use, 'bytes')} in use "
                             f"({ratio:.1f}x > {options.etcd.fragmentation})")
    candidate = view.defrag_candidate()
    if candidate is not None:
        leader_note = " (a follower: the leader is never defragmented first)" if not candidate.is_leader else ""
        check.remediations.append(Remediation(
            "etcd_defrag", Target("EtcdMember", candidate.name or candidate.member_id or candidate.endpoint),
            "high", f"Defragment etcd member {candidate.name or candidate.endpoint}{leader_note}: releases up "
                    f"to {fmt(candidate.db_size - candidate.db_size_in_use, 'bytes')}; it blocks while it runs; "
                    "one member at a time.",
            params={"endpoint": candidate.endpoint, "fragmentation": options.etcd.fragmentation,
                    "min_defrag_bytes": options.etcd.min_defrag_bytes}))
    minor = reads.apiserver_minor()
    for version in sorted({s.version for s in view.answering if s.version}):
        problem = etcd_view.version_problem(version, minor)
        if problem:
            check.add("critical", problem)
    severity = SEVERITY[check.row.status] if check.row.status in SEVERITY else Severity.WARNING
    title = check.row.evidence[0] if check.row.evidence else f"etcd healthy: {quorum}"
    check.findings.append(Finding(step, severity, title, quorum + (
        f". Member list: {survey.members_error}" if survey.members_error else ""), [table]))
    for status in view.silent:
        check.findings.append(Finding(step, Severity.WARNING, f"etcd member {status.endpoint} does not answer",
                                      status.error))
    return check


def check_etcd(reads: Reads, sources: Sources, options: CheckOptions, end: float, step: str) -> LayerCheck:
    check = check_etcd_members(reads, sources, options, step)
    _merge(check, metrics_check("etcd", sources, options, end, step))
    return check


# -- controller manager and scheduler ----------------------------------------------------------------


def _component_check(layer: str, lease_name: str, component: str, reads: Reads, options: CheckOptions,
                     step: str) -> LayerCheck:
    check = LayerCheck(LayerRow(layer, "unseen", ""))
    try:
        lease = cp.lease_state(lease_name, reads.lease(lease_name), reads.now, options.lease_factor)
    except ClusterError as exc:
        check.row.unseen.append(f"Lease kube-system/{lease_name}: {exc}")
        lease = None
    if lease is not None:
        check.row.status = "ok"
        check.row.figure = f"lease {lease.describe()}"
        if lease.stale and not lease.missing:
            check.add("critical", f"{component} leader Lease is stale: {lease.describe()} (> {options.lease_factor:g}x "
                                  "the lease duration): no active leader")
        elif lease.missing:
            check.add("warning", f"no Lease kube-system/{lease_name}: leader election off or {component} never ran "
                                 "(managed control planes hide it)")
    try:
        pods = [cp.pod_state(p) for p in reads.static_pods() if cp.component_of(p) == component]
    except ClusterError as exc:
        check.row.unseen.append(f"{component} pods: {exc}")
        pods = []
    for pod in pods:
        if not pod.ready:
            check.add("critical" if check.row.status == "critical" else "warning", f"{component} pod {pod.describe()}")
        elif pod.restarts >= options.restarts_warning:
            check.add("warning", f"{component} pod {pod.describe()}")
    if pods:
        check.row.status = check.row.status if check.row.status != "unseen" else "ok"
    skew = _skew(reads, component)
    for problem in skew:
        check.add("warning", problem.message)
    if check.row.evidence:
        rows = tuple((p.name, p.node, "yes" if p.ready else "no", str(p.restarts), p.last_restart_reason)
                     for p in pods)
        blocks: list[Any] = [Facts((("Leader Lease", lease.describe() if lease else "not readable"),))]
        if rows:
            blocks.append(Table(("POD", "NODE", "READY", "RESTARTS", "LAST TERMINATION"), rows))
        status = check.row.status if check.row.status in SEVERITY else "warning"
        check.findings.append(Finding(step, SEVERITY[status], check.row.evidence[0],
                                      "; ".join(check.row.evidence[1:]), blocks))
    return check


def _skew(reads: Reads, component: str) -> list[cp.SkewProblem]:
    try:
        api = reads.version()
        versions = [v for p in reads.static_pods() if cp.component_of(p) == component
                    and (v := cp.image_version(p))]
    except ClusterError:
        return []
    kwargs = {"kube-controller-manager": "controller", "kube-scheduler": "scheduler"}
    if component not in kwargs:
        return []
    return cp.version_skew(api, versions if component == "kube-controller-manager" else [],
                           versions if component == "kube-scheduler" else [], {})


def check_controller(reads: Reads, sources: Sources, options: CheckOptions, end: float, step: str) -> LayerCheck:
    check = _component_check("controller", "kube-controller-manager", "kube-controller-manager", reads, options, step)
    _merge(check, metrics_check("controller", sources, options, end, step))
    return check


def check_scheduler(reads: Reads, sources: Sources, options: CheckOptions, end: float, step: str) -> LayerCheck:
    check = _component_check("scheduler", "kube-scheduler", "kube-scheduler", reads, options, step)
    try:
        pending = reads.pending_pods()
        unscheduled = [p for p in pending if not (p.get("spec") or {}).get("nodeName")]
        if check.row.status == "unseen":
            check.row.status = "ok"
        check.row.figure = f"{len(unscheduled)} unscheduled pods; " + check.row.figure
        if len(unscheduled) > options.pending_critical:
            check.add("critical", f"{len(unscheduled)} pods wait for the scheduler (> {options.pending_critical})")
        elif len(unscheduled) > options.pending_warning:
            check.add("warning", f"{len(unscheduled)} pods wait for the scheduler (> {options.pending_warning})")
    except ClusterError as exc:
        check.row.unseen.append(f"Pending pods: {exc}")
    _merge(check, metrics_check("scheduler", sources, options, end, step))
    return check


# -- nodes -------------------------------------------------------------------------------------------


def check_nodes(reads: Reads, sources: Sources, options: CheckOptions, end: float, step: str) -> LayerCheck:
    check = LayerCheck(LayerRow("node", "unseen", ""))
    try:
        nodes = reads.nodes()
        leases = reads.node_leases()
    except ClusterError as exc:
        check.row.unseen.append(f"nodes: {exc}")
        nodes, leases = [], {}
    if nodes:
        states = [cp.node_state(n, leases.get((n.get("metadata") or {}).get("name", "")), reads.now,
                                options.grace_seconds) for n in nodes]
        not_ready = [s for s in states if s.ready != "True"]
        stale = [s for s in states if s.ready == "True" and s.heartbeat_age is not None
                 and s.heartbeat_age > options.grace_seconds]
        pressure = [s for s in states if s.pressures]
        check.row.status = "ok"
        check.row.figure = f"{len(states) - len(not_ready)}/{len(states)} Ready"
        if not_ready:
            share = len(not_ready) / len(states)
            names = ", ".join(s.name for s in not_ready[:5]) + (" …" if len(not_ready) > 5 else "")
            check.add("critical" if share > 0.1 or len(states) <= 10 else "warning",
                      f"{len(not_ready)} node(s) NotReady: {names} ({one_line(not_ready[0].reason, 120).rstrip('.')})")
        if stale:
            check.add("warning", f"{len(stale)} node(s) report Ready but their heartbeat Lease is older than "
                                 f"{options.grace_seconds:g} s: {', '.join(s.name for s in stale[:5])}")
        for state in pressure[:5]:
            check.add("warning", f"node {state.name} under {', '.join(state.pressures)}")
            check.remediations.append(Remediation(
                "cordon_node", Target("Node", state.name), "low",
                f"Cordon node {state.name} ({', '.join(state.pressures)}) so no new pods land on it."))
            check.remediations.append(Remediation(
                "drain_node", Target("Node", state.name), "high",
                f"Drain node {state.name} ({', '.join(state.pressures)}): evict its pods, respecting "
                "PodDisruptionBudgets."))
        _skew_kubelets(reads, states, check)
        _stuck_on_lost_nodes(reads, not_ready, check)
        if check.row.evidence:
            rows = tuple((s.name, s.ready, ", ".join(s.pressures) or "-",
                          human_duration(timedelta(seconds=s.heartbeat_age)) if s.heartbeat_age is not None else "?",
                          one_line(s.reason, 80)) for s in (not_ready + stale + pressure)[:15])
            check.findings.append(Finding(step, SEVERITY[check.row.status], check.row.evidence[0],
                                          "; ".join(check.row.evidence[1:4]),
                                          [Table(("NODE", "READY", "PRESSURE", "HEARTBEAT", "WHY"), rows)]))
    _merge(check, metrics_check("node", sources, options, end, step))
    sick = list(dict.fromkeys(r.target.name for r in check.remediations if r.action == "cordon_node"))
    check.remediations.extend(_restart_offers(reads, sick))
    return check


def _restart_offers(reads: Reads, nodes: list[str], per_node: int = 3) -> list[Remediation]:
    """Deployments with pods on a sick node: after a cordon, a rollout restart moves them off gradually.

    One field-selected pod LIST per node (at most three nodes); the Deployment is read from the
    ReplicaSet's name and the pods' ``pod-template-hash`` label, so no per-pod calls.
    """
    offers: list[Remediation] = []
    for node in nodes[:3]:
        try:
            pods = list(reads.cluster.list("Pod", field_selector=f"spec.nodeName={node}"))
        except ClusterError:
            continue
        found: dict[tuple[str, str], int] = {}
        for pod in pods:
            meta = pod.get("metadata") or {}
            owner = next((o for o in meta.get("ownerReferences") or [] if o.get("controller")), None)
            suffix = "-" + str((meta.get("labels") or {}).get("pod-template-hash") or "")
            if not owner or owner.get("kind") != "ReplicaSet" or suffix == "-" or meta.get("deletionTimestamp"):
                continue
            name = str(owner.get("name") or "")
            if name.endswith(suffix):
                key = (str(meta.get("namespace") or ""), name[: -len(suffix)])
                found[key] = found.get(key, 0) + 1
        for (namespace, deployment), count in sorted(found.items(), key=lambda item: -item[1])[:per_node]:
            offers.append(Remediation(
                "rollout_restart", Target("Deployment", deployment, namespace), "medium",
                f"Rollout-restart deployment {namespace}/{deployment} after cordoning {node}: its {count} pod(s) "
                "there are replaced elsewhere one surge at a time, gentler than draining the node."))
    return offers


def _skew_kubelets(reads: Reads, states: list[cp.NodeState], check: LayerCheck) -> None:
    try:
        api = reads.version()
    except ClusterError:
        return
    for problem in cp.version_skew(api, [], [], {s.name: s.kubelet for s in states if s.kubelet}):
        check.add("warning", problem.message)


def _stuck_on_lost_nodes(reads: Reads, not_ready: list[cp.NodeState], check: LayerCheck) -> None:
    """Pods stuck Terminating on NotReady nodes: one field-selected LIST per lost node (at most 10)."""
    for state in not_ready[:MAX_LOST_NODES]:
        try:
            pods = list(reads.cluster.list("Pod", field_selector=f"spec.nodeName={state.name}"))
        except ClusterError:
            return
        for pod in pods:
            meta = pod.get("metadata") or {}
            deleted = parse_time(meta.get("deletionTimestamp"))
            if deleted is None or (reads.now - deleted).total_seconds() < STUCK_TERMINATING_SECONDS:
                continue
            owner = next((o for o in meta.get("ownerReferences") or [] if o.get("controller")), None)
            if owner is None:
                continue
            age = human_duration(reads.now - deleted)
            check.add("warning", f"pod {meta.get('namespace')}/{meta.get('name')} stuck Terminating for {age} on "
                                 f"NotReady node {state.name}")
            check.remediations.append(Remediation(
                "delete_pod", Target("Pod", str(meta.get("name")), meta.get("namespace")), "high",
                _force_delete_text(f"{meta.get('namespace')}/{meta.get('name')}", str(meta.get("name")), age,
                                   state.name, str(owner.get("kind") or ""), str(owner.get("name") or "")),
                params={"force": True}))


def _force_delete_text(ref: str, name: str, age: str, node: str, owner_kind: str, owner_name: str) -> str:
    """Why a pod stuck Terminating on a lost node needs a FORCE delete, and what that risks (the risk
    first: the approval's confirmation dialog shows only the beginning)."""
    why = (f"Force-delete pod {ref} (grace period 0, as kubectl delete --force --grace-period=0): NotReady node "
           f"{node}'s kubelet cannot confirm its containers stopped, so if {node} comes back ")
    if owner_kind == "StatefulSet":
        return why + (f"{name} may run twice (StatefulSet {owner_name}: one identity, one volume). Stuck Terminating "
                      f"for {age}; a normal delete does nothing. Approve only if {node} is really gone.")
    return why + (f"they may still run there until its kubelet stops them. Stuck Terminating for {age}; a normal "
                  f"delete does nothing; {owner_kind} {owner_name} keeps its replicas elsewhere.")


CHECKS: dict[str, Callable[[Reads, Sources, CheckOptions, float, str], LayerCheck]] = {
    "apiserver": check_apiserver,
    "etcd": check_etcd,
    "controller": check_controller,
    "scheduler": check_scheduler,
    "node": check_nodes,
}
"""The layer checks by layer name (the keys are DESIGN.md's ``verdict.layer`` values)."""

