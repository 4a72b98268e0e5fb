"""The ``events`` step: what the cluster recorded about the target, de-duplicated, newest first.

For a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job) the events of its
ReplicaSets and pods count too. The number of API calls does not grow with the number of pods:
the pods come from one LIST with the workload's selector, and when more than a few objects are
involved the namespace's events are read once and matched in memory. Events that say the same
thing about the same object are folded into one row with the summed count and the first and last
time seen (core/v1 ``count``/``firstTimestamp``/``lastTimestamp`` and the newer ``eventTime``/
``series``). The grouped events are left in ``ctx.shared["events"]`` for later steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import Field

from clusterdoc.humanize import human_duration, one_line, parse_time
from clusterdoc.report import Finding, Severity, Table, Text
from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.runbook.registry import StepContext, StepKind, StepParams, StepResult
from clusterdoc.workers.steps.common import ago, is_workload, short_ref, workload_members

FIELD_SELECTOR_MAX = 3
"""Up to this many objects, events are fetched per object with a field selector; beyond, per namespace."""

MESSAGE_LIMIT = 400
COLUMNS = ("LAST SEEN", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE")


class EventsParams(StepParams):
    limit: int = Field(20, ge=1, le=500, description="at most this many event rows")
    related: bool = Field(True, description="for a workload, include its ReplicaSets' and pods' events")


@dataclass
class EventGroup:
    """Events that say the same thing about the same object."""

    kind: str
    name: str
    type: str
    reason: str
    message: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None

    @property
    def warning(self) -> bool:
        return self.type == "Warning"


def _event_count(event: Obj) -> int:
    series = event.get("series") or {}
    return max(int(series.get("count") or 0), int(event.get("count") or 0), 1)


def _event_times(event: Obj) -> tuple[datetime | None, datetime | None]:
    series = event.get("series") or {}
    created = (event.get("metadata") or {}).get("creationTimestamp")
    first = parse_time(event.get("firstTimestamp")) or parse_time(event.get("eventTime")) or parse_time(created)
    last = (
        parse_time(series.get("lastObservedTime"))
        or parse_time(event.get("lastTimestamp"))
        or parse_time(event.get("eventTime"))
        or first
    )
    return first, last


def group_events(events: list[Obj]) -> list[EventGroup]:
    """Fold events by (object, reason, message); newest first."""
    groups: dict[tuple[str, str, str, str], EventGroup] = {}
    for event in events:
        involved = event.get("involvedObject") or {}
        kind, name = involved.get("kind", "?"), involved.get("name", "?")
        reason, message = event.get("reason") or "", one_line(event.get("message") or "", MESSAGE_LIMIT)
        first, last = _event_times(event)
        key = (kind, name, reason, message)
        group = groups.get(key)
        if group is None:
            groups[key] = EventGroup(kind, name, event.get("type") or "Normal", reason, message,
                                     _event_count(event), first, last)
            continue
        group.count += _event_count(event)
        if event.get("type") == "Warning":
            group.type = "Warning"
        if first and (group.first_seen is None or first < group.first_seen):
            group.first_seen = first
        if last and (group.last_seen is None or last > group.last_seen):
            group.last_seen = last
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(groups.values(), key=lambda g: (g.last_seen or epoch, g.warning), reverse=True)


def _field_selector(kind: str, name: str, namespace: str | None) -> str:
    terms = [f"involvedObject.kind={kind}", f"involvedObject.name={name}"]
    if namespace:
        terms.append(f"involvedObject.namespace={namespace}")
    return ",".join(terms)


def fetch_events(ctx: StepContext, objects: list[Obj]) -> list[Obj]:
    """Events about ``objects`` (all in one namespace, or one cluster-scoped object).

    Cached for the run in ``ctx.shared``: the scheduling and events steps of why-pending ask
    for the same objects' events, and the API server should be asked once.
    """
    wanted = {(str(obj.get("kind") or ""), str((obj.get("metadata") or {}).get("name") or "")) for obj in objects}
    namespace = (objects[0].get("metadata") or {}).get("namespace")
    cache: dict[tuple[object, ...], list[Obj]] = ctx.shared.setdefault("fetched_events", {})
    key = (namespace, *sorted(wanted, key=str))
    if key not in cache:
        cache[key] = _read_events(ctx, wanted, namespace, len(objects))
    return cache[key]


def _read_events(ctx: StepContext, wanted: set[tuple[str, str]], namespace: str | None, count: int) -> list[Obj]:
    if count <= FIELD_SELECTOR_MAX or not namespace:
        found: list[Obj] = []
        for kind, name in sorted(wanted, key=str):
            found.extend(ctx.cluster.list("Event", namespace, field_selector=_field_selector(kind, name, namespace)))
        return found
    return [
        event
        for event in ctx.cluster.list("Event", namespace, field_selector=f"involvedObject.namespace={namespace}")
        if ((event.get("involvedObject") or {}).get("kind"), (event.get("involvedObject") or {}).get("name"))
        in wanted
    ]


def _row(group: EventGroup, now: datetime) -> tuple[str, ...]:
    last = ago(group.last_seen, now)
    count = str(group.count)
    if group.count > 1 and group.first_seen and group.last_seen and group.last_seen > group.first_seen:
        count += f" over {human_duration(group.last_seen - group.first_seen)}"
    return (last, group.type, group.reason, short_ref(group.kind, group.name), count, group.message)


def _subject(ctx: StepContext, target_obj: Obj, replicasets: int, pods: int) -> str:
    meta = target_obj.get("metadata") or {}
    subject = short_ref(target_obj.get("kind", "?"), meta.get("name", "?"))
    parts = []
    if replicasets:
        parts.append(f"{replicasets} ReplicaSet{'s' if replicasets != 1 else ''}")
    if pods:
        parts.append(f"{pods} pod{'s' if pods != 1 else ''}")
    return subject + (f" and its {' and '.join(parts)}" if parts else "")


def events_step(ctx: StepContext, params: EventsParams) -> StepResult:
    target_obj = ctx.target_object
    if target_obj is None:
        return StepResult([Finding("events", Severity.INFO, "No target object: nothing to read events for")])
    objects = [target_obj]
    replicasets = pods = 0
    notes: list[str] = []
    if params.related and is_workload(target_obj):
        members = workload_members(ctx, target_obj)
        objects += members.replicasets + members.pods
        replicasets, pods = len(members.replicasets), len(members.pods)
        if members.note:
            notes.append(f"Pods not included: {members.note}.")
    groups = group_events(fetch_events(ctx, objects))
    ctx.shared["events"] = groups
    subject = _subject(ctx, target_obj, replicasets, pods)
    if not groups:
        text = "Events expire after one hour by default, so an old problem may have left none."
        return StepResult([Finding("events", Severity.INFO, f"No events for {subject}", " ".join([text, *notes]))])
    shown, left_out = groups[: params.limit], groups[params.limit:]
    warnings = [g for g in groups if g.warning]
    blocks: list[Table | Text] = [Table(COLUMNS, tuple(_row(g, ctx.now) for g in shown))]
    if left_out:
        hidden_warnings = sum(1 for g in left_out if g.warning)
        blocks.append(Text(
            f"{len(left_out)} older event group{'s' if len(left_out) != 1 else ''} left out "
            f"({hidden_warnings} warning{'s' if hidden_warnings != 1 else ''}); showing the newest {params.limit}."
        ))
    if warnings:
        newest = warnings[0]
        reasons = sorted({g.reason for g in warnings}, key=lambda r: -sum(g.count for g in warnings if g.reason == r))
        title = f"Warning events for {subject}: {', '.join(reasons[:4])}"
        detail = f"Latest warning: {newest.reason} on {short_ref(newest.kind, newest.name)}: {newest.message}"
        severity = Severity.WARNING
    else:
        title = f"Events for {subject}: {len(groups)} kind{'s' if len(groups) != 1 else ''} of event, no warnings"
        detail, severity = "", Severity.INFO
    if notes:
        detail = " ".join([detail, *notes]).strip()
    return StepResult([Finding("events", severity, title, detail, list(blocks))])


STEP_KIND = StepKind("events", EventsParams, events_step,
                     "Events for the target (and a workload's ReplicaSets and pods), de-duplicated")
