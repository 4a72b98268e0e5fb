"""Render a :class:`~clusterdoc.report.Report` as readable terminal text (``clusterdoc ask``/``demo``).

Verdict first, then numbered findings with their evidence (facts as aligned key/value lines,
tables aligned within the width with long cells wrapped, preformatted text behind a ``|``
gutter with long lines continued behind ``:``), then the remediations. ANSI colour (severity
colours, bold titles) only when asked for, or when stdout is a terminal and ``NO_COLOR`` is
unset. Content from the cluster is sanitised first, so logs cannot smuggle escape sequences
into the user's terminal. Nothing is truncated. ``Report.extra`` is left to the JSON report.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from clusterdoc.render.text import (
    char_width,
    clean,
    display_width,
    layout_table,
    one_line,
    trim_blank_lines,
    verdict_layer_phrase,
    wrap_line,
    wrap_words,
)
from clusterdoc.report import Facts, Finding, Preformatted, Remediation, Report, Table, Text

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
SEVERITY_COLOUR = {"ok": "\x1b[32m", "info": "\x1b[36m", "warning": "\x1b[33m", "critical": "\x1b[31m"}
RISK_COLOUR = {"low": "\x1b[32m", "medium": "\x1b[33m", "high": "\x1b[31m"}
INDENT = "   "
MIN_WIDTH = 40


def use_colour(color: bool | None) -> bool:
    """The colour decision: explicit ``color`` wins, else a TTY stdout without ``NO_COLOR``."""
    if color is not None:
        return color
    if os.environ.get("NO_COLOR"):
        return False
    isatty: Callable[[], bool] | None = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


class _Writer:
    def __init__(self, colour: bool, width: int) -> None:
        self.colour = colour
        self.width = width
        self.lines: list[str] = []

    def style(self, text: str, *codes: str) -> str:
        codes = tuple(code for code in codes if code)
        return f"{''.join(codes)}{text}{RESET}" if self.colour and codes and text else text

    def headline(
        self,
        prefix: str,
        styled_prefix: str,
        text: str,
        codes: tuple[str, ...] = (),
        *,
        hang: int | None = None,
        suffix: str = "",
    ) -> None:
        """``prefix`` then ``text`` word-wrapped, continuation lines indented by ``hang`` columns;
        ``suffix`` (dim) follows on the last line when it fits."""
        if hang is None:
            hang = display_width(prefix) if self.width - display_width(prefix) >= 40 else len(INDENT)
        first_room = max(self.width - display_width(prefix), 20)
        rest_room = max(self.width - hang, 20)
        pieces = _hanging(text, first_room, rest_room)
        lines = [f"{styled_prefix}{self.style(pieces[0], *codes)}"]
        lines.extend(f"{' ' * hang}{self.style(piece, *codes)}" for piece in pieces[1:])
        if suffix:
            last_room = first_room if len(pieces) == 1 else rest_room
            if display_width(pieces[-1]) + 2 + display_width(suffix) <= last_room:
                lines[-1] += f"  {self.style(suffix, DIM)}"
            else:
                lines.append(f"{' ' * hang}{self.style(suffix, DIM)}")
        self.lines.extend(line.rstrip() for line in lines)

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def prose(self, text: str, indent: str = INDENT) -> None:
        room = max(self.width - len(indent), 20)
        for line in trim_blank_lines(clean(text)).split("\n") if text.strip() else []:
            lead = line[: len(line) - len(line.lstrip())]
            for piece in wrap_words(line.strip(), max(room - len(lead), 10)):
                self.lines.append(f"{indent}{lead}{piece}".rstrip())

    def facts(self, facts: Facts, indent: str = INDENT) -> None:
        keys = [one_line(key) + ":" for key, _ in facts.items]
        key_width = min(max((display_width(key) for key in keys), default=0), 28)
        room = max(self.width - len(indent) - key_width - 2, 20)
        for key, (_, value) in zip(keys, facts.items, strict=True):
            values = trim_blank_lines(clean(value)).split("\n")
            pieces = [piece for line in values for piece in wrap_words(line, room)] or [""]
            pad = " " * max(key_width - display_width(key), 0)
            if display_width(key) > key_width:
                self.lines.append(f"{indent}{self.style(key, BOLD)}")
                first = pieces
            else:
                self.lines.append(f"{indent}{self.style(key, BOLD)}{pad}  {pieces[0]}".rstrip())
                first = pieces[1:]
            for piece in first:
                self.lines.append(f"{indent}{' ' * (key_width + 2)}{piece}".rstrip())

    def table(self, table: Table, indent: str = INDENT) -> None:
        if not table.columns and not table.rows:
            return
        layout = layout_table(table.columns, table.rows, max_width=max(self.width - len(indent), 20))
        title_line, rule = layout.header[:-1], layout.header[-1]
        for line in title_line:
            self.lines.append(f"{indent}{self.style(line, BOLD)}")
        self.lines.append(f"{indent}{self.style(rule, DIM)}")
        for row in layout.rows:
            self.lines.extend(f"{indent}{line}" for line in row)
        if not table.rows:
            self.lines.append(f"{indent}{self.style('(no rows)', DIM)}")

    def pre(self, pre: Preformatted, indent: str = INDENT) -> None:
        if pre.title.strip():
            self.lines.append(f"{indent}{self.style(one_line(pre.title), BOLD)}")
        text = trim_blank_lines(clean(pre.text)).expandtabs(4)
        room = max(self.width - len(indent) - 2, 20)
        gutter, more = self.style("|", DIM), self.style(":", DIM)
        for line in text.split("\n"):
            pieces = wrap_line(line, room, cost=char_width) if display_width(line) > room else [line]
            self.lines.append(f"{indent}{gutter} {pieces[0]}" if pieces[0] else f"{indent}{gutter}")
            self.lines.extend(f"{indent}{more} {piece}" for piece in pieces[1:])


def _hanging(text: str, first_room: int, rest_room: int) -> list[str]:
    """Word-wrap one line: the first piece within ``first_room`` columns, the others ``rest_room``."""
    if display_width(text) <= first_room:
        return [text]
    first = wrap_words(text, first_room)[0]
    rest = text[len(first) :].strip()
    return [first, *(wrap_words(rest, rest_room) if rest else [])]


def _severity_tag(writer: _Writer, severity: str) -> str:
    return writer.style(f"[{severity}]", SEVERITY_COLOUR.get(severity, ""), BOLD)


def _head(writer: _Writer, report: Report) -> None:
    verdict = report.verdict
    severity = str(verdict.severity)
    label = writer.style(severity.upper(), SEVERITY_COLOUR.get(severity, ""), BOLD)
    layer = one_line(verdict_layer_phrase(verdict))
    prefix = f"{severity.upper()}  {layer + ': ' if layer else ''}"
    styled_layer = f"{writer.style(layer, BOLD)}: " if layer else ""
    writer.headline(prefix, f"{label}  {styled_layer}", one_line(verdict.summary))
    target = report.target
    about = one_line(f"{report.runbook} · {target.kind} {target.ref()} · cluster {report.cluster}")
    writer.headline("", "", about, (DIM,), hang=0)
    if report.command:
        writer.headline("", "", f"/k8s {one_line(report.command)}", (DIM,), hang=0)


def _finding(writer: _Writer, number: int, finding: Finding) -> None:
    severity = str(finding.severity)
    title = one_line(finding.title) or "(untitled finding)"
    prefix = f"{number}. [{severity}] "
    styled = f"{number}. {_severity_tag(writer, severity)} "
    writer.headline(prefix, styled, title, (BOLD,), hang=len(INDENT), suffix=f"({one_line(finding.step)})")
    writer.prose(finding.detail)
    for block in finding.blocks:
        writer.blank()
        if isinstance(block, Text):
            writer.prose(block.text)
        elif isinstance(block, Facts):
            writer.facts(block)
        elif isinstance(block, Table):
            writer.table(block)
        elif isinstance(block, Preformatted):
            writer.pre(block)
    if finding.error_id:
        writer.lines.append(f"{INDENT}{writer.style(f'error id: {one_line(finding.error_id)}', DIM)}")


def _remediation(writer: _Writer, number: int, remedy: Remediation) -> None:
    target = remedy.target
    risk = writer.style(f"risk {remedy.risk}", RISK_COLOUR.get(str(remedy.risk), ""), BOLD)
    how = "copy-paste snippet" if remedy.action == "snippet" else f"action {one_line(remedy.action)}"
    description = one_line(remedy.description or remedy.action)
    writer.headline(f"{number}. ", f"{number}. ", description, (BOLD,), hang=len(INDENT))
    where = one_line(f"{target.kind} {target.ref()}")
    writer.headline(f"{INDENT}risk {remedy.risk} · ", f"{INDENT}{risk} · ", f"{how} · {where}", hang=len(INDENT))
    if remedy.params:
        params = ", ".join(f"{key}={value}" for key, value in sorted(remedy.params.items()))
        writer.prose(f"params: {params}")
    if remedy.snippet:
        writer.pre(Preformatted(text=remedy.snippet))


def render_terminal(report: Report, *, color: bool | None = None, width: int = 100) -> str:
    """The report as plain text for a terminal, ``width`` columns wide, coloured when wanted (no final newline)."""
    writer = _Writer(use_colour(color), max(width, MIN_WIDTH))
    _head(writer, report)
    before, after = report.ordered_findings()
    if before:
        writer.blank()
        writer.lines.append(writer.style("Findings", BOLD))
    for number, finding in enumerate(before, start=1):
        writer.blank()
        _finding(writer, number, finding)
    if report.remediations:
        writer.blank()
        writer.lines.append(writer.style("Remediations", BOLD))
        for number, remedy in enumerate(report.remediations, start=1):
            writer.blank()
            _remediation(writer, number, remedy)
    if after:
        writer.blank()
        writer.lines.append(writer.style("Details", BOLD))
    for number, finding in enumerate(after, start=len(before) + 1):
        writer.blank()
        _finding(writer, number, finding)
    return "\n".join(writer.lines)
