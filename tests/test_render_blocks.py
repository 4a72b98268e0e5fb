"""Slack Block Kit rendering: golden messages, Slack's limits, splitting without cutting lines, files."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from clusterdoc.render.blocks import SlackRendering, render_error, render_report
from clusterdoc.render.text import layout_table, unescape_mrkdwn
from clusterdoc.report import Facts, Finding, Preformatted, Report, Severity, Table, Target, Text, Verdict
from tests.render_samples import (
    CRASH_LOG,
    SAMPLES,
    check_golden,
    crashloop,
    huge,
    huge_log,
    huge_table,
    primary_step_report,
    why_pending,
)

ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


def texts_of(block: dict[str, Any]) -> list[str]:
    """Every mrkdwn/plain text a block carries."""
    out: list[str] = []
    if block["type"] == "section":
        if "text" in block:
            out.append(block["text"]["text"])
        out.extend(field["text"] for field in block.get("fields", []))
    elif block["type"] == "context":
        out.extend(element["text"] for element in block["elements"] if "text" in element)
    elif block["type"] == "header":
        out.append(block["text"]["text"])
    return out


def assert_valid(rendering: SlackRendering, max_blocks: int = 50, section_chars: int = 3000) -> None:
    """Everything Slack would reject: block counts, text sizes, field counts, bad escaping."""
    assert rendering.messages, "no message at all"
    for message in rendering.messages:
        assert 1 <= len(message.blocks) <= max_blocks
        assert message.text and len(message.text) <= 40_000
        assert not re.search(r"[<>]", message.text) and not ENTITY.search(message.text)
        json.dumps(message.blocks)
        for block in message.blocks:
            parsed = Block.parse(block)
            assert parsed is not None and parsed.to_dict() == block  # to_dict() runs slack_sdk's validators
            if block["type"] == "section":
                assert "text" in block or block.get("fields")
                assert len(block.get("text", {}).get("text", "")) <= section_chars
                assert len(block.get("fields", [])) <= 10
                assert all(len(field["text"]) <= 2000 for field in block.get("fields", []))
            if block["type"] == "context":
                assert 1 <= len(block["elements"]) <= 10
            for text in texts_of(block):
                assert text.strip(), f"empty text in {block}"
                assert len(text) <= 3000
                assert "<" not in text and ">" not in text, f"unescaped markup in {text[:200]!r}"
                assert not ENTITY.search(text), f"bare & in {text[:200]!r}"
                assert "\x1b" not in text


def shown_lines(rendering: SlackRendering) -> list[str]:
    """Every line the messages show, unescaped, code fences dropped."""
    lines: list[str] = []
    for message in rendering.messages:
        for block in message.blocks:
            for text in texts_of(block):
                lines.extend(line for line in unescape_mrkdwn(text).split("\n") if line != "```")
    return lines


def section_texts(rendering: SlackRendering) -> list[str]:
    return [text for message in rendering.messages for block in message.blocks for text in texts_of(block)]


def report_with(*findings: Finding, summary: str = "Something is off.") -> Report:
    return Report(
        runbook="triage",
        target=Target(kind="Pod", name="web-0", namespace="shop"),
        verdict=Verdict(layer="workload", severity=Severity.WARNING, summary=summary),
        findings=list(findings),
    )


# -- golden messages ---------------------------------------------------------------------------


def golden_json(rendering: SlackRendering, *, file_content: bool) -> str:
    files = [
        {"filename": f.filename, "title": f.title, "chars": len(f.content), "lines": f.content.count("\n") + 1}
        | ({"content": f.content} if file_content else {})
        for f in rendering.files
    ]
    data = {"messages": [{"text": m.text, "blocks": m.blocks} for m in rendering.messages], "files": files}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_golden_slack_rendering(name: str) -> None:
    rendering = render_report(SAMPLES[name]())
    check_golden(f"{name}.slack.json", golden_json(rendering, file_content=name != "huge"))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_block_is_valid_for_slack(name: str) -> None:
    assert_valid(render_report(SAMPLES[name]()))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_first_block_is_the_verdict(name: str) -> None:
    report = SAMPLES[name]()
    first = render_report(report).messages[0].blocks[0]["text"]["text"]
    assert first.startswith(":calendar:" if report.verdict.layer == "scheduler" else ":package:")
    assert f"*{report.verdict.severity.upper()}*" in first
    assert unescape_mrkdwn(first).endswith(report.verdict.summary)


# -- content is kept, escaped, never cut mid-line ----------------------------------------------


def test_why_pending_shows_every_fact_row_and_remediation() -> None:
    report = why_pending()
    rendering = render_report(report)
    assert len(rendering.messages) == 1 and rendering.files == []
    lines = shown_lines(rendering)
    assert report.findings[0].detail in lines
    table = report.findings[1].blocks[0]
    assert isinstance(table, Table)
    for row in table.rows:
        assert any(re.fullmatch(r"\s*".join(re.escape(cell) for cell in row), line.strip()) for line in lines), row
    for snippet_line in report.remediations[0].snippet.strip().split("\n"):
        assert snippet_line in lines
    assert any("risk *medium*" in line for line in lines)
    fields = [f["text"] for b in rendering.messages[0].blocks for f in b.get("fields", [])]
    assert "*Node selector*\n&lt;none&gt;" in fields
    assert any("1.2 cpu &amp; 3Gi" in text for text in section_texts(rendering))


def test_crashloop_log_lines_are_whole_and_escaped() -> None:
    rendering = render_report(crashloop())
    lines = shown_lines(rendering)
    for line in CRASH_LOG.strip().split("\n"):
        assert line in lines
    html = next(text for text in section_texts(rendering) if "502 Bad Gateway" in text)
    assert "&lt;html&gt;&lt;body&gt;502 Bad Gateway&lt;/body&gt;&lt;/html&gt;" in html
    assert "deep=1&amp;verbose=1" in html
    assert any("error id `e-7f3a91`" in text for text in section_texts(rendering))


@pytest.mark.parametrize("section_chars", [3000, 700, 250])
def test_small_sections_split_between_lines(section_chars: int) -> None:
    report = crashloop()
    rendering = render_report(report, section_chars=section_chars)
    assert_valid(rendering, section_chars=section_chars)
    lines = shown_lines(rendering)
    for line in CRASH_LOG.strip().split("\n"):
        if len(line) + 8 < section_chars:
            assert line in lines


def test_huge_report_goes_to_files_with_previews() -> None:
    report = huge()
    rendering = render_report(report)
    assert_valid(rendering)
    assert len(rendering.messages) >= 2
    table_file, log_file = rendering.files
    assert log_file.content == huge_log()
    assert log_file.filename.endswith(".log")
    table = huge_table()
    file_lines = table_file.content.rstrip("\n").split("\n")
    assert file_lines == layout_table(table.columns, table.rows).lines()
    assert len(file_lines) == 2 + 300
    for row, line in zip(table.rows, file_lines[2:], strict=True):
        assert line.split() == [word for cell in row for word in cell.split()]
    texts = section_texts(rendering)
    assert any(f"first 15 rows of 300 — full table in the attached file `{table_file.filename}`" in t for t in texts)
    assert any(f"full text in the attached file `{log_file.filename}`" in t for t in texts)
    shown = shown_lines(rendering)
    assert sum(1 for line in shown if line.startswith("ip-10-0-")) == 15
    log_lines = huge_log().split("\n")
    preview = [line for line in shown if line.startswith("2026-11-27T")]
    assert preview and preview == log_lines[-len(preview) :]  # the tail, whole lines


def test_all_thirty_two_findings_appear_once_in_order_across_messages() -> None:
    report = huge()
    rendering = render_report(report)
    titles = [
        unescape_mrkdwn(text.split("*")[1])
        for text in section_texts(rendering)
        if text.startswith((":warning: *", ":information_source: *"))
    ]
    assert titles == [finding.title for finding in report.findings]
    for number, message in enumerate(rendering.messages[1:], start=2):
        assert message.blocks[0]["type"] == "context"
        assert f"continued ({number}/{len(rendering.messages)})" in message.blocks[0]["elements"][0]["text"]


def test_inline_table_rows_limit_moves_small_table_to_a_file() -> None:
    rendering = render_report(why_pending(), inline_table_rows=2)
    assert_valid(rendering)
    [attached] = rendering.files
    assert "gpu-c" in attached.content and attached.title.startswith("No node fits web-0")
    shown = shown_lines(rendering)
    assert any(line.startswith("ip-10-0-1-6") for line in shown)
    assert not any(line.startswith("gpu-a") for line in shown)


@pytest.mark.parametrize("max_blocks", [5, 10, 50])
def test_messages_respect_max_blocks(max_blocks: int) -> None:
    findings = [
        Finding(step="events", severity=Severity.INFO, title=f"finding {i}", detail=f"detail {i}") for i in range(200)
    ]
    rendering = render_report(report_with(*findings), max_blocks=max_blocks)
    assert_valid(rendering, max_blocks=max_blocks)
    assert rendering.messages[0].blocks[0]["text"]["text"].startswith(":package: *Workload*")
    shown = shown_lines(rendering)
    assert [line for line in shown if line.startswith("detail ")] == [f"detail {i}" for i in range(200)]


def test_a_finding_bigger_than_a_message_is_spread_in_order() -> None:
    finding = Finding(
        step="describe",
        severity=Severity.INFO,
        title="many paragraphs",
        blocks=[Text(text=f"paragraph {i}") for i in range(120)],
    )
    rendering = render_report(report_with(finding))
    assert_valid(rendering)
    assert len(rendering.messages) == 3
    assert [line for line in shown_lines(rendering) if line.startswith("paragraph")] == [
        f"paragraph {i}" for i in range(120)
    ]


# -- pathological input ------------------------------------------------------------------------


def pieces_of(rendering: SlackRendering, start: str) -> list[str]:
    return [unescape_mrkdwn(t) for t in section_texts(rendering) if unescape_mrkdwn(t).startswith(start)]


def test_one_10000_char_line_of_words_breaks_at_whitespace() -> None:
    line = " ".join(f"word{i:04d}" for i in range(1100))[:10_000]
    rendering = render_report(report_with(Finding(step="s", severity=Severity.INFO, title="t", blocks=[Text(line)])))
    assert_valid(rendering)
    pieces = pieces_of(rendering, "word")
    assert "".join(pieces) == line
    assert len(pieces) >= 4
    assert all(piece.endswith(" ") for piece in pieces[:-1])


def test_one_10000_char_line_without_whitespace_is_hard_wrapped() -> None:
    line = "x" * 10_000
    rendering = render_report(report_with(Finding(step="s", severity=Severity.INFO, title="t", blocks=[Text(line)])))
    assert_valid(rendering)
    assert "".join(pieces_of(rendering, "x")) == line


def test_escaping_growth_never_breaks_an_entity_or_a_limit() -> None:
    line = "&<>" * 3000
    finding = Finding(step="s", severity=Severity.INFO, title="t", detail=line, blocks=[Text(line)])
    rendering = render_report(report_with(finding, summary=line))
    assert_valid(rendering)  # every section <= 3000 after escaping, no bare & or < >
    texts = [unescape_mrkdwn(t) for t in section_texts(rendering)]
    for char in "&<>":  # summary, detail and text: nothing lost
        assert sum(text.count(char) for text in texts) == 3 * 3000
    assert texts[0].startswith(":package: *Workload*")


def test_long_single_line_log_goes_to_file_and_preview_stays_in_limits() -> None:
    line = "E1127 05:40:02.009 " + "stacktrace-frame;" * 600
    pre = Preformatted(text=line, language="log", title="kubelet log")
    rendering = render_report(report_with(Finding(step="logs", severity=Severity.INFO, title="t", blocks=[pre])))
    assert_valid(rendering)
    [attached] = rendering.files
    assert attached.content == line and attached.filename.endswith(".log")


def test_long_title_summary_facts_and_cells_stay_valid() -> None:
    many = Facts(items=tuple((f"key {i}", f"value {i}") for i in range(23)))
    wide = Facts(items=(("Message", "m " * 2500), ("Short", "ok")))
    table = Table(columns=("NAME", "MESSAGE"), rows=(("a", "word " * 1000), ("b", "short")))
    finding = Finding(step="s", severity=Severity.CRITICAL, title="T" * 5000, detail="d", blocks=[many, wide, table])
    rendering = render_report(report_with(finding, summary="summary " * 1500))
    assert_valid(rendering)
    field_sections = [b for m in rendering.messages for b in m.blocks if b.get("fields")]
    assert [len(b["fields"]) for b in field_sections] == [10, 10, 3]
    assert any(t.startswith("*Message:* m m") for t in section_texts(rendering))
    [attached] = rendering.files
    assert "word " * 999 + "word" in attached.content.replace("\n", " ").replace("  ", " ")


def test_triple_backticks_in_content_do_not_close_the_code_block() -> None:
    pre = Preformatted(text="before\n```\nrm -rf /\n```\nafter")
    rendering = render_report(report_with(Finding(step="s", severity=Severity.INFO, title="t", blocks=[pre])))
    code = next(t for t in section_texts(rendering) if "before" in t)
    assert code.startswith("```\n") and code.endswith("\n```") and code.count("```") == 2


def test_terminal_escapes_and_control_characters_are_removed() -> None:
    pre = Preformatted(text="\x1b[31mred\x1b[0m \x1b]0;pwned\x07bell\x07 nul\x00")
    rendering = render_report(report_with(Finding(step="s", severity=Severity.INFO, title="t", blocks=[pre])))
    assert_valid(rendering)
    assert "red bell\N{REPLACEMENT CHARACTER} nul\N{REPLACEMENT CHARACTER}" in shown_lines(rendering)


def test_two_big_tables_get_distinct_files() -> None:
    table = huge_table(40)
    finding = Finding(step="s", severity=Severity.INFO, title="nodes", blocks=[table, table])
    rendering = render_report(report_with(finding))
    assert len({f.filename for f in rendering.files}) == 2


def test_empty_report_is_just_the_verdict() -> None:
    rendering = render_report(report_with())
    assert_valid(rendering)
    assert [b["type"] for b in rendering.messages[0].blocks] == ["section", "context"]
    assert rendering.messages[0].text == "WARNING · workload: Something is off."


@pytest.mark.parametrize(
    "kwargs", [{"max_blocks": 4}, {"section_chars": 3001}, {"section_chars": 100}, {"inline_table_rows": -1}]
)
def test_bad_limits_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        render_report(why_pending(), **kwargs)


def test_render_error_escapes_and_validates() -> None:
    message = render_error("pod <web-0> not found in namespace shop & nothing like it")
    assert message.text == "pod &lt;web-0&gt; not found in namespace shop &amp; nothing like it"
    assert message.blocks == [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "verbatim": True,
                "text": ":x: pod &lt;web-0&gt; not found in namespace shop &amp; nothing like it",
            },
        }
    ]
    assert_valid(SlackRendering(messages=[render_error("x" * 9000)]))


@pytest.mark.parametrize(
    ("layer", "severity", "headline", "fallback"),
    [
        ("none", Severity.WARNING, ":warning: *WARNING* — pod web-0 not found in namespace shop",
         "WARNING · pod web-0 not found in namespace shop"),
        ("none", Severity.OK, ":white_check_mark: *No broken layer* · :white_check_mark: *OK* — Nothing wrong found.",
         "OK · none: Nothing wrong found."),
        ("unknown", Severity.WARNING, ":grey_question: *Layer unknown* · :warning: *WARNING* — Step describe failed",
         "WARNING · unknown: Step describe failed"),
    ],
    ids=["missing-object-has-no-green-tick", "healthy", "unknown-layer"],
)
def test_headline_does_not_call_a_problem_healthy(layer: str, severity: Severity, headline: str, fallback: str) -> None:
    summary = headline.split(" — ", 1)[1]
    report = Report("describe", Target("Pod", "web-0", "shop"), Verdict(layer, severity, summary))  # type: ignore[arg-type]
    rendering = render_report(report)
    assert_valid(rendering)
    assert rendering.messages[0].blocks[0]["text"]["text"] == headline
    assert rendering.messages[0].text == fallback


def test_primary_findings_then_remediations_then_details_in_slack() -> None:
    rendering = render_report(primary_step_report())
    text = json.dumps([message.blocks for message in rendering.messages])
    order = [text.index(marker) for marker in
             ("Nodes by cause", "*Remediations*", "Tolerate the taint", "*Details*", "Pod status Pending")]
    assert order == sorted(order)
