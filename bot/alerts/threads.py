"""What the incident's thread says: the root message, its resolved form, thread lines, the storm root.

Roots are Slack messages with one attachment whose ``color`` shows the state (red/orange/blue
for firing by severity, green for resolved) and whose blocks hold the severity, alertname,
summary and description, key labels, the cluster, the alert count and links: the alert's
``generatorURL``, its ``runbook_url`` annotation and a prefilled silence in Alertmanager's UI
(``externalURL``). Texts are capped to Block Kit's limits; nothing here talks to Slack.

Everything an alert carries comes from outside (anyone who can make Alertmanager fire writes it),
so every text is escaped for mrkdwn (:func:`_text`: no ``<!channel>``, ``<@U…>`` or disguised
links) and links are made only from the link fields, labelled with their real host.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from clusterdoc.humanize import human_duration
from clusterdoc.render.text import escape_mrkdwn, mrkdwn_link, one_line

SECTION_LIMIT = 2900
FIELD_LIMIT = 1900
KEY_LABELS = ("namespace", "pod", "container", "deployment", "statefulset", "daemonset", "job_name", "node",
              "instance", "persistentvolumeclaim", "service", "job")
SILENCE_LABELS = ("alertname", "namespace", "pod", "deployment", "statefulset", "daemonset", "job_name", "node",
                  "instance", "cluster", "severity")

COLOURS = {"critical": "#E01E5A", "error": "#E01E5A", "warning": "#ECB22E", "info": "#36C5F0"}
RESOLVED_COLOUR = "#2EB67D"
DEFAULT_COLOUR = "#ECB22E"
SEVERITY_RANK = {"critical": 3, "error": 3, "warning": 2, "info": 1, "none": 0}


def severity_rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity.lower(), 1)


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: object) -> str:
    """Outside text made inert for mrkdwn (``<``, ``>``, ``&`` escaped; control characters shown)."""
    return escape_mrkdwn(str(value))


def _name(value: object) -> str:
    """An outside name or label value: escaped and folded onto one line."""
    return escape_mrkdwn(one_line(str(value)))


@dataclass
class RootView:
    """What the root message shows; built by the dispatcher from the incident."""

    alertname: str
    severity: str
    status: str
    cluster: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    firing: int
    total: int
    started_at: datetime | None = None
    resolved_at: datetime | None = None
    generator_url: str = ""
    external_url: str = ""
    other_alertnames: list[str] = field(default_factory=list)
    truncated: int = 0
    """``truncatedAlerts`` of the latest notification: alerts Alertmanager did not send."""


def silence_url(external_url: str, labels: Mapping[str, str]) -> str:
    """Alertmanager's "new silence" page prefilled with the alert's identifying matchers."""
    if not external_url:
        return ""
    matchers = ", ".join(f'{name}="{labels[name]}"' for name in SILENCE_LABELS if labels.get(name))
    return f"{external_url.rstrip('/')}/#/silences/new?filter={quote('{' + matchers + '}', safe='')}"


def duration_text(start: datetime | None, end: datetime | None) -> str:
    """``42 min``-style length of an incident (``?`` when a time is missing)."""
    if start is None or end is None:
        return "?"
    minutes = max(int((end - start).total_seconds() // 60), 0)
    if minutes < 1:
        return "less than a minute"
    if minutes < 120:
        return f"{minutes} min"
    return human_duration(timedelta(minutes=minutes))


def _links(view: RootView) -> list[str]:
    candidates = [(view.generator_url, "Source"), (view.annotations.get("runbook_url") or "", "Runbook"),
                  (silence_url(view.external_url, view.labels), "Silence")]
    return [link for link in (mrkdwn_link(url, label) for url, label in candidates if url) if link]


def root_message(view: RootView) -> dict[str, Any]:
    """``text`` + ``attachments`` for ``chat.postMessage``/``chat.update`` of an incident root."""
    resolved = view.status == "resolved"
    if resolved:
        headline = f":white_check_mark: *RESOLVED* after {duration_text(view.started_at, view.resolved_at)}"
        colour = RESOLVED_COLOUR
    else:
        headline = ":rotating_light: *FIRING*"
        colour = COLOURS.get(view.severity.lower(), DEFAULT_COLOUR)
    title = f"{headline} · `{_name(view.severity or 'none')}` · *{_name(view.alertname)}*"
    if view.other_alertnames:
        title += f" (+ {', '.join(_name(name) for name in sorted(view.other_alertnames))})"
    blocks: list[dict[str, Any]] = [_section(title)]
    summary = view.annotations.get("summary") or ""
    description = view.annotations.get("description") or view.annotations.get("message") or ""
    text = "\n".join(part for part in (f"*{_name(summary)}*" if summary else "", _text(description)) if part)
    if text:
        blocks.append(_section(text))
    count = f"*Alerts:* {view.firing} firing / {view.total}"
    if view.truncated:
        count += f" (+{view.truncated} alert{'s' if view.truncated != 1 else ''} truncated by Alertmanager)"
    facts = [f"*Cluster:* {_name(view.cluster)}", count]
    facts += [f"*{name}:* `{_name(view.labels[name])}`" for name in KEY_LABELS if view.labels.get(name)]
    if view.started_at:
        facts.append(f"*Since:* <!date^{int(view.started_at.timestamp())}^{{date_short_pretty}} {{time}}|"
                     f"{view.started_at.isoformat(timespec='seconds')}>")
    blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": _cap(f, FIELD_LIMIT)}
                                                 for f in facts[:10]]})
    links = _links(view)
    if links:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(links)}]})
    fallback = (f"{'RESOLVED' if resolved else 'FIRING'} [{_name(view.severity)}] {_name(view.alertname)}: "
                f"{_name(summary or description)}")
    return {"text": _cap(fallback.strip(), SECTION_LIMIT), "attachments": [{"color": colour, "blocks": blocks}]}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cap(text, SECTION_LIMIT)}}


def resolved_line(started_at: datetime | None, resolved_at: datetime | None, total: int) -> str:
    """The one thread line posted when every alert of the incident has resolved."""
    alerts = "the alert" if total == 1 else f"all {total} alerts"
    return f":white_check_mark: Resolved after {duration_text(started_at, resolved_at)} ({alerts})."


def reopened_line(firing: int) -> str:
    return f":rotating_light: Firing again ({firing} alert{'s' if firing != 1 else ''}); this thread is reopened."


def triage_note(alertname: str, target: str, runbook: str) -> str:
    """Shown when triage for one alert is queued (the report itself comes from the worker)."""
    return f"Triage of *{_name(alertname)}* on `{_name(target)}` queued (runbook `{_name(runbook)}`)."


def storm_message(
    counts: Iterable[tuple[str, int, int]], incidents: int, started_at: datetime, triaged: int = 0, skipped: int = 0
) -> dict[str, Any]:
    """The storm root: incidents by alertname with firing/total counts (most first) and the triage counts."""
    rows = sorted(counts, key=lambda row: (-row[2], row[0]))
    lines = [f"• *{_name(name)}*: {firing} firing / {total}" for name, firing, total in rows[:40]]
    if len(rows) > 40:
        lines.append(f"… and {len(rows) - 40} more alert names")
    firing_total = sum(row[1] for row in rows)
    head = (f":thunder_cloud_and_rain: *Alert storm*: {incidents} incidents since "
            f"{started_at.isoformat(timespec='seconds')}, {firing_total} alerts firing.")
    triage = f"Triage runs in this thread for the most severe first: {triaged} started"
    triage += f", {skipped} skipped (over the storm's limit)." if skipped else "."
    colour = COLOURS["critical"] if firing_total else RESOLVED_COLOUR
    blocks = [_section(head), _section("\n".join(lines) or "(none yet)"), _section(triage)]
    return {"text": _cap(f"Alert storm: {incidents} incidents", SECTION_LIMIT),
            "attachments": [{"color": colour, "blocks": blocks}]}


def message_size(message: Mapping[str, Any]) -> int:
    return len(json.dumps(message))
