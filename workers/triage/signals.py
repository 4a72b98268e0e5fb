"""Judging metric series: the current value against thresholds, since when it has been over, and how
to write values the way an on-call engineer reads them (``210 ms``, ``1.5 %``, ``1.5Gi``).

A :class:`Series` is a list of ``(unix time, value)`` points with its labels. :func:`judge` finds, for
each series over its threshold at the end of the range, the onset of the current excursion (the
first point from which the series stayed over the warning threshold) and the value before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from clusterdoc.humanize import human_duration
from clusterdoc.workers.scheduling import quantities
from clusterdoc.workers.triage.presets import Preset, Unit

SPARK = "▁▂▃▄▅▆▇█"
STALE_SECONDS = 600.0
"""A series whose last point is older than this (relative to the range's end) is not current."""


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]

    def finite(self) -> list[tuple[float, float]]:
        return [(t, v) for t, v in self.points if math.isfinite(v)]


@dataclass(frozen=True)
class Breach:
    """One series over its threshold: the evidence line the report shows."""

    preset: Preset
    series: Series
    severity: str
    value: float
    threshold: float
    onset: float | None
    before: float | None
    carrier: str

    def sentence(self, now: float, of: int = 1) -> str:
        """``etcd WAL fsync p99 on instance=10.0.0.1:2379: 2.0 ms → 210 ms at 13:02 UTC, 18m ago (critical > 100 ms)``.

        ``of`` > 1 says the breach is on every one of that many series (the worst is named).
        """
        unit = self.preset.unit
        value = fmt(self.value, unit)
        relation = ">" if self.preset.direction == "above" else "<"
        where = f" on {self.carrier}" if self.carrier else ""
        if of > 1:
            where = f" on all {of} series (worst {self.carrier})" if self.carrier else f" on all {of} series"
        if self.onset is not None and self.before is not None:
            when = datetime.fromtimestamp(self.onset, UTC).strftime("%H:%M")
            ago = _dur(max(now - self.onset, 0.0))
            change = f"{fmt(self.before, unit)} → {value} at {when} UTC, {ago} ago"
        else:
            change = f"{value} for the whole range shown"
        return f"{self.preset.title}{where}: {change} ({self.severity} {relation} {fmt(self.threshold, unit)})"


@dataclass
class Judgement:
    """What one preset's series said: breaches (worst first), the quiet peak, and gaps."""

    preset: Preset
    breaches: list[Breach] = field(default_factory=list)
    peak: tuple[float, str] | None = None
    """The most telling current value (worst series) and its carrier, breach or not."""
    absent: bool = False
    current: int = 0
    """How many series are current (a breach on all of them is said so)."""

    @property
    def severity(self) -> str:
        return self.breaches[0].severity if self.breaches else "ok"


def fmt(value: float, unit: Unit) -> str:
    """A value written for people: seconds as ms/s, ratios as %, bytes in binary units."""
    if not math.isfinite(value):
        return str(value)
    if unit == "seconds":
        if abs(value) >= 86400 * 2:
            return f"{value / 86400:.1f} d"
        if abs(value) >= 100:
            return _dur(value)
        if abs(value) >= 1:
            return f"{value:.1f} s"
        return f"{value * 1000:.0f} ms" if value * 1000 >= 10 else f"{value * 1000:.1f} ms"
    if unit in ("ratio", "percent"):
        percent = value * 100 if unit == "ratio" else value
        return f"{percent:.1f} %" if percent < 10 else f"{percent:.0f} %"
    if unit == "bytes":
        return quantities.format_bytes(int(value))
    if unit == "per_second":
        return f"{value:.0f}/s" if abs(value) >= 10 else f"{value:.2g}/s"
    return f"{value:.0f}" if value == int(value) or abs(value) >= 100 else f"{value:.2f}"


def carrier(series: Series, preset: Preset) -> str:
    """``resource=configmaps verb=PUT``: the labels that say which series carries the signal."""
    parts = [f"{label}={series.labels[label]}" for label in preset.series_labels if series.labels.get(label)]
    if not parts:
        parts = [f"{k}={v}" for k, v in sorted(series.labels.items()) if k not in ("__name__", "job")][:3]
    return " ".join(parts)


def _over(preset: Preset, value: float, threshold: float) -> bool:
    return value > threshold if preset.direction == "above" else value < threshold


def onset(points: list[tuple[float, float]], preset: Preset) -> tuple[float | None, float | None]:
    """(time the current excursion over the warning threshold began, value before it).

    None for both when the series was over the threshold for the whole range (the onset is older).
    """
    start = len(points) - 1
    while start > 0 and _over(preset, points[start - 1][1], preset.warning):
        start -= 1
    if start == 0:
        return None, None
    before = [value for _, value in points[:start]]
    before.sort()
    return points[start][0], before[len(before) // 2]


def judge(preset: Preset, series: list[Series], end: float) -> Judgement:
    """Judge every series of one preset at the end of its range (``end``, unix seconds)."""
    judgement = Judgement(preset)
    current: list[tuple[float, Series]] = []
    for one in series:
        points = one.finite()
        if points and end - points[-1][0] <= STALE_SECONDS:
            current.append((points[-1][1], one))
    judgement.current = len(current)
    if not current:
        judgement.absent = True
        return judgement
    worst = max if preset.direction == "above" else min
    value, top = worst(current, key=lambda pair: pair[0])
    judgement.peak = (value, carrier(top, preset))
    for value, one in current:
        severity = preset.over(value)
        if severity is None:
            continue
        threshold = preset.critical if severity == "critical" else preset.warning
        start, before = onset(one.finite(), preset)
        judgement.breaches.append(Breach(preset, one, severity, value, threshold, start, before, carrier(one, preset)))
    rank = {"critical": 0, "warning": 1}
    sign = -1 if preset.direction == "above" else 1
    judgement.breaches.sort(key=lambda b: (rank[b.severity], sign * b.value))
    return judgement


def sparkline(values: list[float], width: int = 24) -> str:
    """A one-line trend (``▁▁▁▂▅▇█``) of ``values`` resampled to at most ``width`` cells."""
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [max(values[int(i * step): max(int((i + 1) * step), int(i * step) + 1)]) for i in range(width)]
    low, high = min(values), max(values)
    if high == low:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(int((v - low) / (high - low) * (len(SPARK) - 1) + 0.5), len(SPARK) - 1)] for v in values)


def _dur(seconds: float) -> str:
    return human_duration(timedelta(seconds=seconds))
