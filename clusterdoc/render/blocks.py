"""Render a :class:`~clusterdoc.report.Report` as Slack Block Kit messages plus file uploads.

Blocks are built with ``slack_sdk.models.blocks`` and serialised with ``to_dict()``, so
slack_sdk checks Slack's limits as they are built. On top of that this module keeps every
text within the limits Slack enforces but slack_sdk does not check (2000 characters per
section field) and never cuts content mid-line: long text is split at line boundaries into
several sections, a message that would pass 50 blocks continues in another message, and big
tables or logs go into a :class:`SlackFile` with the full content while the message shows a
preview and says so. Only a single line longer than a whole section is broken (at whitespace
when it has any). Posting is someone else's job: this module only builds data.

``Report.extra`` (machine-readable sections such as ``scheduling``) belongs to the JSON report
only; steps say whatever a person needs to read as findings, which is what is rendered here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import ContextBlock, DividerBlock, MarkdownTextObject, SectionBlock

from clusterdoc.render.text import (
    clean,
    escape_mrkdwn,
    layout_table,
    one_line,
    split_text,
    trim_blank_lines,
    verdict_layer_phrase,
)
from clusterdoc.report import Facts, Finding, Preformatted, Remediation, Report, Table, Text

FIELD_CHARS = 2000
"""Slack's limit for one section field (not checked by slack_sdk)."""
MAX_FIELDS = 10
"""Slack's limit for fields in one section."""
PRE_INLINE_CHARS = 2500
"""Preformatted text longer than this (after escaping) goes into a file with a preview."""
PREVIEW_LINES = 20
"""Most lines a preview of a file shows in the message."""
TABLE_WIDTH = 110
"""Inline tables are laid out within this many columns; the file keeps the natural width."""
FALLBACK_CHARS = 300
"""Longest notification fallback text (the blocks carry the content)."""

SEVERITY_EMOJI = {
    "ok": ":white_check_mark:",
    "info": ":information_source:",
    "warning": ":warning:",
    "critical": ":red_circle:",
}
LAYER_LABEL = {
    "scheduler": (":calendar:", "Scheduler"),
    "node": (":desktop_computer:", "Node"),
    "etcd": (":card_file_box:", "etcd"),
    "apiserver": (":satellite_antenna:", "API server"),
    "controller": (":gear:", "Controller"),
    "workload": (":package:", "Workload"),
    "none": (":white_check_mark:", "No broken layer"),
    "unknown": (":grey_question:", "Layer unknown"),
}
RISK_EMOJI = {"low": ":large_green_circle:", "medium": ":large_yellow_circle:", "high": ":red_circle:"}
_FENCE = "```"
_EXTENSIONS = {"yaml": "yaml", "yml": "yaml", "json": "json", "log": "log", "logs": "log"}


@dataclass
class SlackMessage:
    """One ``chat.postMessage`` payload: fallback ``text`` (notifications) and ``blocks``."""

    text: str
    blocks: list[dict[str, Any]]


@dataclass
class SlackFile:
    """A file to upload next to the messages, holding content too big to show inline."""

    filename: str
    title: str
    content: str


@dataclass
class SlackRendering:
    """The messages to post in order (the first one carries the verdict) and the files."""

    messages: list[SlackMessage]
    files: list[SlackFile] = field(default_factory=list)


def _section(text: str) -> dict[str, Any]:
    return SectionBlock(text=MarkdownTextObject(text=text, verbatim=True)).to_dict()


def _context(text: str) -> dict[str, Any]:
    return ContextBlock(elements=[MarkdownTextObject(text=text, verbatim=True)]).to_dict()


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:40].rstrip("-") or "item"


def _defuse_fences(text: str) -> str:
    """Keep a triple backtick inside content from closing the code block around it."""
    return text.replace(_FENCE, "`\u200b`\u200b`")


def _ident(text: str) -> str:
    """An identifier (names are at most 253 characters in Kubernetes) folded onto one line."""
    text = one_line(text)
    return text if len(text) <= 300 else text[:299] + "…"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


class _Builder:
    """Turns one report into units of blocks (a unit is kept together when it fits)."""

    def __init__(self, report: Report, section_chars: int, inline_table_rows: int) -> None:
        self.report = report
        self.section_chars = section_chars
        self.inline_table_rows = inline_table_rows
        self.files: list[SlackFile] = []
        self.units: list[list[dict[str, Any]]] = []

    # -- text primitives -------------------------------------------------------------------

    def sections(self, markup: str) -> list[dict[str, Any]]:
        """Sections for already-escaped mrkdwn, split at line boundaries."""
        return [_section(chunk) for chunk in split_text(markup, self.section_chars, entities=True) if chunk.strip()]

    def text_sections(self, raw: str, *, lead: str = "") -> list[dict[str, Any]]:
        """Sections for plain text (escaped here), optionally led by a line of markup."""
        body = escape_mrkdwn(trim_blank_lines(clean(raw)))
        markup = f"{lead}\n{body}" if lead and body else lead or body
        return self.sections(markup)

    def code_sections(self, raw: str, *, lead: str = "") -> list[dict[str, Any]]:
        """``raw`` in code blocks, split at line boundaries; ``lead`` markup above the first one."""
        body = escape_mrkdwn(_defuse_fences(trim_blank_lines(clean(raw)))) or " "
        budget = self.section_chars - 2 * len(_FENCE) - 2
        first_budget = budget - len(lead) - 1 if lead else budget
        blocks: list[dict[str, Any]] = []
        if lead and first_budget < 40:
            blocks.extend(self.sections(lead))
            lead = ""
        chunks = split_text(body, first_budget if lead else budget, entities=True)
        if lead and len(chunks) > 1:
            chunks = [chunks[0], *split_text("\n".join(chunks[1:]), budget, entities=True)]
        for index, chunk in enumerate(chunks):
            code = f"{_FENCE}\n{chunk}\n{_FENCE}"
            blocks.append(_section(f"{lead}\n{code}" if lead and index == 0 else code))
        return blocks

    def add_file(self, stem: str, extension: str, title: str, content: str) -> SlackFile:
        base = f"{_slug(self.report.runbook)}-{_slug(self.report.target.name)}-{_slug(stem)}"
        name = f"{base}.{extension}"
        taken = {existing.filename for existing in self.files}
        counter = 2
        while name in taken:
            name = f"{base}-{counter}.{extension}"
            counter += 1
        attached = SlackFile(filename=name, title=one_line(title)[:250], content=content)
        self.files.append(attached)
        return attached

    # -- report parts ----------------------------------------------------------------------

    def head(self) -> list[dict[str, Any]]:
        report = self.report
        verdict = report.verdict
        layer_emoji, layer_label = LAYER_LABEL.get(verdict.layer, (":grey_question:", str(verdict.layer)))
        severity = str(verdict.severity)
        layer = f"{layer_emoji} *{escape_mrkdwn(layer_label)}* · "
        if verdict.layer == "none" and severity not in ("ok", "info"):
            layer = ""  # "pod web-0 not found": no layer to blame, and a green tick would read as "all fine"
        line = (
            f"{layer}{SEVERITY_EMOJI.get(severity, '')} "
            f"*{escape_mrkdwn(severity.upper())}* — {escape_mrkdwn(clean(verdict.summary))}"
        )
        blocks = self.sections(line)
        target = report.target
        about = [
            f"`{escape_mrkdwn(_ident(report.runbook))}`",
            escape_mrkdwn(_ident(f"{target.kind} {target.ref()}")),
            f"cluster {escape_mrkdwn(_ident(report.cluster))}",
        ]
        blocks.append(_context(" · ".join(about)))
        return blocks

    def finding(self, index: int, finding: Finding) -> list[dict[str, Any]]:
        severity = str(finding.severity)
        title = escape_mrkdwn(one_line(finding.title) or "(untitled finding)")
        lead = f"{SEVERITY_EMOJI.get(severity, '')} *{title}*".strip()
        blocks: list[dict[str, Any]] = [DividerBlock().to_dict(), *self.text_sections(finding.detail, lead=lead)]
        for number, block in enumerate(finding.blocks, start=1):
            stem = f"{index}-{finding.step}-{number}"
            if isinstance(block, Text):
                blocks.extend(self.text_sections(block.text))
            elif isinstance(block, Facts):
                blocks.extend(self.facts(block))
            elif isinstance(block, Table):
                blocks.extend(self.table(block, stem, finding.title))
            elif isinstance(block, Preformatted):
                blocks.extend(self.preformatted(block, stem, finding.title))
        if finding.error_id:
            blocks.append(
                _context(
                    f"step `{escape_mrkdwn(_ident(finding.step))}` · error id "
                    f"`{escape_mrkdwn(_ident(finding.error_id))}`"
                )
            )
        return blocks

    def facts(self, facts: Facts) -> list[dict[str, Any]]:
        pairs = [
            (escape_mrkdwn(one_line(key)), escape_mrkdwn(trim_blank_lines(clean(value)))) for key, value in facts.items
        ]
        if not pairs:
            return []
        as_fields = [f"*{key}*\n{value or '–'}" for key, value in pairs]
        if all(len(text) <= FIELD_CHARS and text.count("\n") <= 3 for text in as_fields):
            return [
                SectionBlock(
                    fields=[MarkdownTextObject(text=text, verbatim=True) for text in as_fields[i : i + MAX_FIELDS]]
                ).to_dict()
                for i in range(0, len(as_fields), MAX_FIELDS)
            ]
        lines = "\n".join(f"*{key}:* {value or '–'}" for key, value in pairs)
        return self.sections(lines)

    def table(self, table: Table, stem: str, title: str) -> list[dict[str, Any]]:
        if not table.columns and not table.rows:
            return []
        inline = layout_table(table.columns, table.rows, max_width=TABLE_WIDTH)
        inline_text = escape_mrkdwn(_defuse_fences(inline.text()))
        if len(table.rows) <= self.inline_table_rows and len(inline_text) <= PRE_INLINE_CHARS:
            return self.code_sections(inline.text())
        full = layout_table(table.columns, table.rows).text() + "\n"
        attached = self.add_file(f"{stem}-table", "txt", f"{title} (table, {_plural(len(table.rows), 'row')})", full)
        budget = min(self.section_chars, PRE_INLINE_CHARS)
        shown: list[str] = list(inline.header)
        size = len(escape_mrkdwn("\n".join(shown)))
        count = 0
        for row in inline.rows[: self.inline_table_rows]:
            row_size = len(escape_mrkdwn("\n".join(row))) + 1
            if size + row_size > budget:
                break
            shown.extend(row)
            size += row_size
            count += 1
        note = (
            f"_Showing the first {_plural(count, 'row')} of {len(table.rows):,} — "
            f"full table in the attached file `{escape_mrkdwn(attached.filename)}`._"
        )
        blocks = self.code_sections("\n".join(shown)) if count else []
        return [*blocks, *self.sections(note)]

    def preformatted(self, pre: Preformatted, stem: str, title: str) -> list[dict[str, Any]]:
        lead = f"*{escape_mrkdwn(one_line(pre.title))}*" if pre.title.strip() else ""
        display = trim_blank_lines(clean(pre.text))
        escaped = escape_mrkdwn(_defuse_fences(display))
        if len(escaped) <= PRE_INLINE_CHARS:
            if not display.strip():
                return self.sections(lead) if lead else []
            return self.code_sections(display, lead=lead)
        language = pre.language.lower().strip()
        extension = _EXTENSIONS.get(language, "txt")
        if extension == "txt" and re.search(r"\blogs?\b", pre.title, re.IGNORECASE):
            extension = "log"
        label = pre.title.strip() or title
        attached = self.add_file(f"{stem}-{pre.title or 'text'}", extension, label, pre.text)
        head_first = extension in ("yaml", "json")
        budget = min(self.section_chars, PRE_INLINE_CHARS) - len(lead) - 10
        pieces = split_text(display, 200)
        total_lines = len(display.split("\n"))
        chosen: list[str] = []
        size = 0
        ordered = pieces if head_first else list(reversed(pieces))
        for piece in ordered[:PREVIEW_LINES]:
            piece_size = len(escape_mrkdwn(_defuse_fences(piece))) + 1
            if size + piece_size > budget:
                break
            chosen.append(piece)
            size += piece_size
        if not head_first:
            chosen.reverse()
        shown_lines = len("\n".join(chosen).split("\n")) if chosen else 0
        where = "first" if head_first else "last"
        note = (
            f"_Showing the {where} {_plural(shown_lines, 'line')} of {total_lines:,} — "
            f"full text in the attached file `{escape_mrkdwn(attached.filename)}`._"
        )
        blocks = self.code_sections("\n".join(chosen), lead=lead) if chosen else self.sections(lead) if lead else []
        return [*blocks, *self.sections(note)]

    def remediation(self, remedy: Remediation, number: int) -> list[dict[str, Any]]:
        target = remedy.target
        where = escape_mrkdwn(one_line(f"{target.kind} {target.ref()}"))
        how = (
            "copy-paste snippet" if remedy.action == "snippet" else f"action `{escape_mrkdwn(one_line(remedy.action))}`"
        )
        params = ", ".join(f"{key}={value}" for key, value in sorted(remedy.params.items()))
        lines = [
            f"{number}. *{escape_mrkdwn(one_line(remedy.description) or remedy.action)}*",
            f"{RISK_EMOJI.get(remedy.risk, '')} risk *{escape_mrkdwn(str(remedy.risk))}* · {how} · {where}".strip(),
        ]
        if params:
            lines.append(f"params: `{escape_mrkdwn(one_line(params))}`")
        blocks = self.sections("\n".join(lines))
        if remedy.snippet:
            blocks.extend(
                self.preformatted(
                    Preformatted(text=remedy.snippet, language="yaml"), f"remedy-{number}", remedy.description
                )
            )
        return blocks

    def build(self) -> list[list[dict[str, Any]]]:
        self.units.append(self.head())
        before, after = self.report.ordered_findings()
        for index, finding in enumerate(before, start=1):
            self.units.append(self.finding(index, finding))
        for number, remedy in enumerate(self.report.remediations, start=1):
            unit = self.remediation(remedy, number)
            if number == 1:
                unit = [DividerBlock().to_dict(), *self.sections("*Remediations*"), *unit]
            self.units.append(unit)
        for index, finding in enumerate(after, start=len(before) + 1):
            unit = self.finding(index, finding)
            if index == len(before) + 1:
                unit = [DividerBlock().to_dict(), *self.sections("*Details*"), *unit]
            self.units.append(unit)
        return self.units


def _pack(units: list[list[dict[str, Any]]], max_blocks: int) -> list[list[dict[str, Any]]]:
    """Fill messages with whole units where they fit; a unit bigger than a message is spread."""
    messages: list[list[dict[str, Any]]] = [[]]

    def room() -> int:
        # every message after the first starts with a "continued" context block
        return max_blocks - len(messages[-1]) - (1 if len(messages) > 1 else 0)

    for unit in units:
        if len(unit) <= room():
            messages[-1].extend(unit)
            continue
        if messages[-1] and len(unit) <= max_blocks - 1:
            messages.append(list(unit))
            continue
        for block in unit:
            if room() < 1:
                messages.append([])
            messages[-1].append(block)
    cleaned = []
    for blocks in messages:
        while blocks and blocks[-1]["type"] == "divider":
            blocks.pop()
        while blocks and blocks[0]["type"] == "divider":
            blocks.pop(0)
        if blocks:
            cleaned.append(blocks)
    return cleaned


def _fallback(text: str) -> str:
    text = one_line(text)
    if len(text) > FALLBACK_CHARS:
        text = text[: FALLBACK_CHARS - 1].rstrip() + "…"
    return escape_mrkdwn(text)


def render_report(
    report: Report, *, max_blocks: int = 50, section_chars: int = 3000, inline_table_rows: int = 15
) -> SlackRendering:
    """Block Kit messages (verdict first, then findings, then remediations) and files to upload."""
    if max_blocks < 5:
        raise ValueError("max_blocks must be at least 5")
    if not 200 <= section_chars <= 3000:
        raise ValueError("section_chars must be between 200 and 3000")
    if inline_table_rows < 0:
        raise ValueError("inline_table_rows must not be negative")
    builder = _Builder(report, section_chars, inline_table_rows)
    packed = _pack(builder.build(), max_blocks)
    verdict = report.verdict
    layer = f"{verdict.layer}: " if verdict_layer_phrase(verdict) else ""
    first_text = f"{str(verdict.severity).upper()} · {layer}{verdict.summary}"
    messages = [SlackMessage(text=_fallback(first_text), blocks=packed[0])]
    subject = one_line(f"{report.runbook} {report.target.kind} {report.target.ref()}")
    for number, blocks in enumerate(packed[1:], start=2):
        label = f"{_ident(subject)} — continued ({number}/{len(packed)})"
        context = _context(f"_{escape_mrkdwn(label)}_")
        messages.append(SlackMessage(text=_fallback(label), blocks=[context, *blocks]))
    return SlackRendering(messages=messages, files=builder.files)


def render_error(text: str) -> SlackMessage:
    """A short message for a failure (bad command, unknown object, worker error)."""
    body = escape_mrkdwn(trim_blank_lines(clean(text))) or "Something went wrong."
    chunks = [chunk for chunk in split_text(f":x: {body}", 3000, entities=True) if chunk.strip()]
    if len(chunks) > 50:
        omitted = sum(len(chunk) for chunk in chunks[49:])
        chunks = [*chunks[:49], f"_(error text too long for one message: {omitted:,} more characters omitted)_"]
    blocks = [_section(chunk) for chunk in chunks]
    return SlackMessage(text=_fallback(text) or "Something went wrong.", blocks=blocks)
