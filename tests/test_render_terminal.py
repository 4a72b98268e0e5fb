"""Terminal rendering: golden text, colour on/off (TTY, NO_COLOR), width, wrapping, sanitising."""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Iterator
from typing import TextIO

import pytest

from clusterdoc.render.terminal import render_terminal
from clusterdoc.render.text import display_width
from clusterdoc.report import Finding, Preformatted, Report, Severity, Table, Target, Text, Verdict
from tests.render_samples import (
    CRASH_LOG,
    SAMPLES,
    check_golden,
    crashloop,
    huge,
    huge_log,
    primary_step_report,
    why_pending,
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def report_with(*findings: Finding) -> Report:
    return Report(
        runbook="triage",
        target=Target(kind="Node", name="ip-10-0-1-5"),
        verdict=Verdict(layer="node", severity=Severity.WARNING, summary="The node is under memory pressure."),
        findings=list(findings),
    )


@pytest.fixture
def tty_stdout() -> Iterator[TextIO]:
    """A writable end of a real pseudo-terminal (the test puts it in sys.stdout itself: pytest's
    output capture replaces sys.stdout between fixture setup and the test call)."""
    master, slave = os.openpty()
    stream = os.fdopen(slave, "w")
    try:
        yield stream
    finally:
        stream.close()
        os.close(master)


@pytest.mark.parametrize("name", ["why_pending", "crashloop"])
def test_golden_plain(name: str) -> None:
    check_golden(f"{name}.txt", render_terminal(SAMPLES[name](), color=False) + "\n")


def test_golden_colour() -> None:
    check_golden("why_pending.ansi.txt", render_terminal(why_pending(), color=True) + "\n")


def test_colour_marks_severity_and_titles() -> None:
    out = render_terminal(why_pending(), color=True)
    first = out.split("\n")[0]
    assert first.startswith("\x1b[31m\x1b[1mCRITICAL\x1b[0m")
    assert "\x1b[33m\x1b[1m[warning]\x1b[0m \x1b[1mFailedScheduling (x12, last 40s ago)\x1b[0m" in out
    assert ANSI.sub("", out) == render_terminal(why_pending(), color=False)
    assert render_terminal(huge(), color=True).startswith("\x1b[33m\x1b[1mWARNING")


def test_no_escape_codes_without_colour() -> None:
    for make in SAMPLES.values():
        assert "\x1b" not in render_terminal(make(), color=False)


def test_colour_auto_follows_tty_and_no_color(tty_stdout: TextIO, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", tty_stdout)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\x1b[" in render_terminal(why_pending())
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b" not in render_terminal(why_pending())
    assert "\x1b[" in render_terminal(why_pending(), color=True)


def test_colour_auto_is_off_when_not_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert "\x1b" not in render_terminal(why_pending())


@pytest.mark.parametrize("width", [100, 72, 50])
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_lines_fit_the_width(name: str, width: int) -> None:
    out = render_terminal(SAMPLES[name](), color=False, width=width)
    too_wide = [line for line in out.split("\n") if display_width(line) > width]
    assert not too_wide


def test_nothing_is_lost_from_the_huge_report() -> None:
    out = render_terminal(huge(), color=False)
    lines = out.split("\n")
    for index in range(300):
        assert sum(1 for line in lines if line.split()[:1] == [f"ip-10-0-{index // 250}-{index % 250 + 1}"]) == 1
    logged = []
    for line in lines:
        if line.startswith("   | "):
            logged.append(line[5:])
        elif line.startswith("   : "):
            logged[-1] += line[5:]
    assert "\n".join(logged) == huge_log()


def test_log_lines_keep_their_text_when_wrapped() -> None:
    out = render_terminal(crashloop(), color=False, width=80)
    logged: list[str] = []
    for line in out.split("\n"):
        if line.startswith("   | "):
            logged.append(line[5:])
        elif line.startswith("   : "):
            logged[-1] += line[5:]
    assert logged == CRASH_LOG.strip().split("\n")


def test_long_cells_wrap_inside_their_column() -> None:
    message = " ".join(f"reason{i}" for i in range(60))
    table = Table(columns=("NODE", "MESSAGE"), rows=(("node-a", message), ("node-b", "ok")))
    out = render_terminal(report_with(Finding(step="s", severity=Severity.INFO, title="t", blocks=[table])), width=60)
    lines = out.split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("NODE"))
    rows = lines[start + 2 :]
    column = lines[start].index("MESSAGE")
    assert rows[0].startswith("   node-a")
    continuation = [line for line in rows[1:] if line.startswith(" " * column)]
    assert len(continuation) >= 8
    words = " ".join([rows[0][column:], *(line[column:] for line in continuation)]).split()
    assert words == message.split()
    assert all(len(line) <= 60 for line in lines)


def test_wide_characters_stay_aligned() -> None:
    table = Table(columns=("NODE", "NOTE", "STATE"), rows=(("node-a", "磁盘压力", "x"), ("node-b", "ok", "y")))
    out = render_terminal(report_with(Finding(step="s", severity=Severity.INFO, title="t", blocks=[table])))
    rows = [line for line in out.split("\n") if line.strip().startswith("node-")]
    assert [display_width(line) for line in rows] == [display_width(rows[0])] * 2
    assert rows[0].endswith("x") and rows[1].endswith("y")


def test_escape_sequences_from_the_cluster_are_neutralised() -> None:
    hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x1b[0m tail\x08"
    pre = Preformatted(hostile)
    finding = Finding(step="s", severity=Severity.INFO, title="t\x1b[5m", detail=hostile, blocks=[pre])
    out = render_terminal(report_with(finding), color=False)
    assert "\x1b" not in out and "\x07" not in out and "\x08" not in out
    assert "red tail\N{REPLACEMENT CHARACTER}" in out


def test_text_paragraphs_and_cluster_scoped_target() -> None:
    finding = Finding(
        step="describe", severity=Severity.WARNING, title="MemoryPressure", blocks=[Text("line one\n\nline three")]
    )
    out = render_terminal(report_with(finding), color=False)
    assert "triage · Node ip-10-0-1-5 · cluster default" in out
    assert "   line one\n\n   line three" in out


@pytest.mark.parametrize(
    ("layer", "severity", "summary", "first_line"),
    [
        ("none", Severity.WARNING, "pod web-0 not found in namespace shop",
         "WARNING  pod web-0 not found in namespace shop"),
        ("none", Severity.OK, "Nothing wrong found.", "OK  no broken layer: Nothing wrong found."),
        ("unknown", Severity.WARNING, "Step describe failed", "WARNING  layer unknown: Step describe failed"),
        ("node", Severity.CRITICAL, "Node n1 is NotReady", "CRITICAL  node layer: Node n1 is NotReady"),
    ],
    ids=["missing-object", "healthy", "unknown-layer", "named-layer"],
)
def test_headline_names_the_layer_only_when_there_is_one(
    layer: str, severity: Severity, summary: str, first_line: str
) -> None:
    report = Report("describe", Target("Pod", "web-0", "shop"), Verdict(layer, severity, summary))  # type: ignore[arg-type]
    assert render_terminal(report, color=False).splitlines()[0] == first_line


def test_primary_findings_then_remediations_then_details() -> None:
    text = render_terminal(primary_step_report(), color=False)
    order = [text.index(marker) for marker in
             ("Findings", "Nodes by cause", "Remediations", "Tolerate the taint", "Details", "Pod status Pending",
              "FailedScheduling events")]
    assert order == sorted(order)
    assert "3. [warning] FailedScheduling events" in text  # numbering continues across the split


def test_without_remediations_findings_stay_in_step_order() -> None:
    report = primary_step_report()
    report.remediations = []
    text = render_terminal(report, color=False)
    assert "Details" not in text
    assert text.index("Nodes by cause") < text.index("Pod status Pending") < text.index("FailedScheduling events")
