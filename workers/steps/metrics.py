"""The ``metrics`` step: Prometheus presets (or any PromQL) judged against thresholds, with onsets.

``query`` is a preset name (``etcd-fsync``), a layer (``etcd``: all its presets), ``all``, or any
PromQL expression (then ``warning``/``critical`` make it a signal; without them its series are
listed). For every series over its threshold the finding says the value, the threshold, since when
(the onset in the range) and which series carries it, with a sparkline; strong signals get a PNG
chart. Prometheus unconfigured, unreachable, timing out, or a series absent: a finding that says
what could not be seen — the runbook goes on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from clusterdoc.report import Facts, Finding, Severity, Table
from clusterdoc.workers import sources as sources_module
from clusterdoc.workers.layers import LayerCheck, absent_finding, metric_findings, read_metrics, unseen_finding
from clusterdoc.workers.prom import PrometheusProblem
from clusterdoc.workers.runbook.registry import StepContext, StepKind, StepResult
from clusterdoc.workers.steps.options import LayerParams
from clusterdoc.workers.triage.presets import LAYER_PRESETS, PRESET_BY_NAME, PRESETS, Preset
from clusterdoc.workers.triage.signals import carrier, fmt, judge, sparkline
from clusterdoc.workers.triage.verdict import LayerRow

STEP = "metrics"


class MetricsParams(LayerParams):
    query: str = Field("all", description="a preset name, a layer (apiserver, etcd, controller, scheduler, node), "
                                          "'all', or a PromQL expression")
    warning: float | None = Field(None, description="for a PromQL query: the warning threshold")
    critical: float | None = Field(None, description="for a PromQL query: the critical threshold")
    direction: Literal["above", "below"] = "above"


def _presets(query: str) -> list[Preset] | None:
    if query == "all":
        return list(PRESETS)
    if query in LAYER_PRESETS:
        return [PRESET_BY_NAME[name] for name in LAYER_PRESETS[query]]
    if query in PRESET_BY_NAME:
        return [PRESET_BY_NAME[query]]
    return None


def _adhoc(params: MetricsParams) -> Preset:
    warning = params.warning if params.warning is not None else params.critical
    critical = params.critical if params.critical is not None else params.warning
    infinite = float("inf") if params.direction == "above" else float("-inf")
    return Preset("promql", "unknown", "PromQL", params.query, "count",
                  warning if warning is not None else infinite, critical if critical is not None else infinite,
                  params.direction, source="the query asked for")


def metrics_step(ctx: StepContext, params: MetricsParams) -> StepResult:
    sources = sources_module.current()
    options = params.options()
    end = ctx.now.timestamp()
    presets = _presets(params.query.strip())
    if presets is not None and options.presets is not None:
        presets = [p for p in presets if p.name in options.presets]
    result = StepResult()
    check = LayerCheck(LayerRow("metrics", "ok", ""))
    if presets is None:
        return _promql(ctx, params, sources, end)
    judgements, unseen, _ = read_metrics(sources, presets, options, end)
    metric_findings(STEP, judgements, options, end, check)
    quiet = [j for j in judgements if not j.breaches and j.peak is not None]
    if quiet:
        rows = tuple((j.preset.title, fmt(j.peak[0], j.preset.unit) if j.peak else "-", j.peak[1] if j.peak else "",
                      f"{fmt(j.preset.warning, j.preset.unit)} / {fmt(j.preset.critical, j.preset.unit)}")
                     for j in quiet)
        check.findings.append(Finding(STEP, Severity.OK, f"{len(quiet)} signal(s) under their thresholds", "",
                                      [Table(("SIGNAL", "NOW", "WORST SERIES", "WARN / CRIT"), rows)]))
    if check.absent:
        check.findings.append(absent_finding(STEP, check.absent))
    if unseen:
        check.findings.append(unseen_finding(STEP, "some metrics" if judgements else "the metrics", unseen))
    result.findings, result.remediations, result.attachments = check.findings, check.remediations, check.attachments
    return result


def _promql(ctx: StepContext, params: MetricsParams, sources: sources_module.Sources, end: float) -> StepResult:
    preset = _adhoc(params)
    options = params.options()
    try:
        series = sources.prometheus.query_range(params.query, end - options.range_minutes * 60, end,
                                                options.step_seconds)
    except PrometheusProblem as exc:
        return StepResult([unseen_finding(STEP, f"`{params.query}`", [str(exc)])])
    judgement = judge(preset, series, end)
    if judgement.absent:
        return StepResult([Finding(STEP, Severity.WARNING, "The query returned no current series",
                                   f"`{params.query}` has no series in the last {options.range_minutes} min.")])
    check = LayerCheck(LayerRow("metrics", "ok", ""))
    metric_findings(STEP, [judgement], options, end, check)
    ranked = sorted(series, key=lambda s: -(s.finite()[-1][1] if s.finite() else float("-inf")))[:15]
    rows = tuple((carrier(s, preset) or "-", f"{s.finite()[-1][1]:.4g}" if s.finite() else "-",
                  sparkline([v for _, v in s.finite()], 16)) for s in ranked)
    check.findings.append(Finding(STEP, Severity.INFO, f"{len(series)} series for the query", "",
                                  [Facts((("Query", params.query),)), Table(("SERIES", "NOW", "TREND"), rows)]))
    return StepResult(check.findings, None, check.remediations, attachments=check.attachments)


STEP_KIND = StepKind(STEP, MetricsParams, metrics_step,
                     "Prometheus presets or PromQL against thresholds: value, onset, carrier, chart")
