"""Text helpers shared by the renderers: sanitising, measuring, wrapping, splitting, tables.

Everything here is sink-neutral. The rules the renderers rely on:

* :func:`wrap_line` breaks one over-long line into pieces whose concatenation is the line,
  preferring to break after whitespace and hard-wrapping only when a piece has none;
* :func:`split_text` packs whole lines into chunks under a size limit and only breaks a line
  that is itself longer than the limit;
* :func:`layout_table` aligns a table, optionally within a width, wrapping long cells.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from clusterdoc import humanize
from clusterdoc.report import Verdict

CharCost = Callable[[str], int]
"""The size of one character under some measure (1 for ``len``, 2 for a wide CJK glyph...)."""

_ANSI_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NUMBER = re.compile(r"^[-+]?\d+(?:[.,]\d+)*\s*(?:%|[a-zA-Z]{0,3})$")
SOFT_BREAKS = "-_/:,;=.|"
"""Characters after which prose and table cells may break when a word is wider than its room."""


def clean(text: str) -> str:
    """Normalise line ends, drop terminal escape sequences, make other control characters visible.

    Log lines from a cluster can carry ANSI colour codes or worse; neither a terminal nor Slack
    should interpret them. Tabs and newlines are kept.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ANSI_SEQUENCE.sub("", text)
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", text)


def one_line(text: str) -> str:
    """``text`` cleaned and folded onto a single line (for titles and table cells' headers)."""
    return humanize.one_line(clean(text), limit=None)


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack's mrkdwn reserves for its own markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn_link(url: str, label: str) -> str:
    """``<url|label (host)>`` for an http(s) URL from a field meant to be a link; ``""`` for anything else.

    The label names the link's real host, so ``<https://evil.example|Runbook>`` cannot pass for
    ours; characters that would end the link markup early are percent-encoded.
    """
    parsed = urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return ""
    safe_url = quote(url.strip(), safe=":/?#[]@!$&'()*+,;=%~")
    host = escape_mrkdwn(one_line(parsed.hostname))
    return f"<{safe_url.replace('&', '&amp;')}|{escape_mrkdwn(one_line(label))} ({host})>"


def unescape_mrkdwn(text: str) -> str:
    """Undo :func:`escape_mrkdwn` (for tests and previews)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def char_width(char: str) -> int:
    """Columns a character occupies in a monospace terminal (0, 1 or 2)."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Columns ``text`` occupies in a monospace terminal."""
    if text.isascii():
        return len(text)
    return sum(char_width(char) for char in text)


def _unit(_: str) -> int:
    return 1


def _entity_safe(text: str, cut: int) -> int:
    """Move ``cut`` back so it does not fall inside an ``&amp;``-style entity."""
    amp = text.rfind("&", max(0, cut - 4), cut)
    if amp != -1:
        end = text.find(";", amp)
        if end != -1 and end >= cut and end - amp <= 4:
            return amp if amp > 0 else cut
    return cut


def wrap_line(
    line: str, limit: int, *, cost: CharCost = _unit, entities: bool = False, soft_breaks: str = ""
) -> list[str]:
    """Break ``line`` into pieces of at most ``limit`` (under ``cost``); ``"".join(pieces) == line``.

    A piece ends after the last whitespace that fits, unless that would leave it less than half
    full; failing that after the last of ``soft_breaks`` (such as ``-_/:``); only then is a run
    cut hard. ``entities`` keeps ``&amp;``-style escapes whole (for mrkdwn-escaped text).
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    pieces: list[str] = []
    rest = line
    while True:
        total = 0
        cut = len(rest)
        for index, char in enumerate(rest):
            total += cost(char)
            if total > limit:
                cut = index
                break
        if cut == len(rest):
            pieces.append(rest)
            return pieces
        cut = max(cut, 1)
        space = max(rest.rfind(" ", 0, cut), rest.rfind("\t", 0, cut))
        soft = max((rest.rfind(char, 0, cut) for char in soft_breaks), default=-1)
        if space + 1 >= max(cut // 2, 1):
            cut = space + 1
        elif soft + 1 >= max(cut // 4, 1):
            cut = soft + 1
        elif entities:
            cut = _entity_safe(rest, cut)
        pieces.append(rest[:cut])
        rest = rest[cut:]


def split_text(text: str, limit: int, *, cost: CharCost = _unit, entities: bool = False) -> list[str]:
    """Pack the lines of ``text`` into chunks of at most ``limit`` characters (under ``cost``).

    Chunks end at line boundaries; a single line longer than ``limit`` is broken by
    :func:`wrap_line` and its pieces become chunks of their own. Joining the chunks with
    newlines gives back ``text`` except where such a line was broken.
    """
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        measure = len(line) if cost is _unit else sum(cost(char) for char in line)
        if measure > limit:
            if current:
                chunks.append("\n".join(current))
            pieces = wrap_line(line, limit, cost=cost, entities=entities)
            chunks.extend(pieces[:-1])
            current = [pieces[-1]]
            size = len(pieces[-1]) if cost is _unit else sum(cost(char) for char in pieces[-1])
            continue
        if current and size + 1 + measure > limit:
            chunks.append("\n".join(current))
            current, size = [], 0
        size += measure + (1 if current else 0)
        current.append(line)
    if current:
        chunks.append("\n".join(current))
    return chunks


def wrap_words(text: str, width: int) -> list[str]:
    """Word-wrap one line of prose to ``width`` display columns (breaking whitespace dropped)."""
    if display_width(text) <= width:
        return [text]
    pieces = wrap_line(text, width, cost=char_width, soft_breaks=SOFT_BREAKS)
    out = [pieces[0].rstrip()] + [piece.strip() for piece in pieces[1:]]
    return [piece for piece in out if piece] or [""]


def trim_blank_lines(text: str) -> str:
    """``text`` without blank lines at its start and end (indentation of the first line kept)."""
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


@dataclass(frozen=True)
class TableLayout:
    """An aligned table: header lines (titles and rule) and, per row, its physical lines."""

    header: list[str]
    rows: list[list[str]]

    def lines(self) -> list[str]:
        return self.header + [line for row in self.rows for line in row]

    def text(self) -> str:
        return "\n".join(self.lines())


def _cell_lines(cell: str) -> list[str]:
    return [" ".join(part.split()) for part in clean(cell).split("\n")] or [""]


def _is_numeric(values: Sequence[str]) -> bool:
    present = [value for value in values if value.strip()]
    return bool(present) and all(_NUMBER.match(value.strip()) for value in present)


def _fit_widths(natural: list[int], minimum: list[int], max_width: int, gap: int) -> list[int]:
    """Cap the widest columns at one common width so the table fits (narrow columns untouched)."""
    budget = max_width - gap * (len(natural) - 1)
    if sum(natural) <= budget:
        return list(natural)

    def capped(cap: int) -> list[int]:
        return [min(width, max(cap, low)) for width, low in zip(natural, minimum, strict=True)]

    cap = max(natural)
    while cap > 1 and sum(capped(cap)) > budget:
        cap -= 1
    widths = capped(cap)
    spare = budget - sum(widths)
    for index in sorted(range(len(widths)), key=lambda i: natural[i] - widths[i], reverse=True):
        if spare <= 0:
            break
        grow = min(spare, natural[index] - widths[index])
        widths[index] += grow
        spare -= grow
    return widths


def layout_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    max_width: int | None = None,
    gap: int = 2,
    keep_words: int = 0,
) -> TableLayout:
    """Align ``rows`` under ``columns``; with ``max_width``, wrap the widest cells to fit.

    ``keep_words`` (terminal rendering) makes a column at least as wide as its longest word of up
    to that many columns, so only longer tokens (URLs, log lines) are ever broken inside.

    Numeric columns are right-aligned. Rows shorter than the header are padded with empty
    cells, longer ones keep their extra cells under unnamed columns. Cells never lose text:
    a cell that does not fit its column continues on the next physical line of its row.
    """
    ncols = max([len(columns), *(len(row) for row in rows)]) if (columns or rows) else 0
    header_cells = [one_line(title) for title in columns] + [""] * (ncols - len(columns))
    body = [[_cell_lines(cell) for cell in row] + [[""]] * (ncols - len(row)) for row in rows]
    natural = [
        max([display_width(header_cells[i]), *(display_width(line) for row in body for line in row[i])])
        for i in range(ncols)
    ]
    numeric = [_is_numeric([" ".join(row[i]) for row in body]) for i in range(ncols)]
    widths = natural
    if max_width is not None and ncols:
        minimum, whole_words = [], []
        for i in range(ncols):
            word = max((display_width(word) for word in header_cells[i].split()), default=0)
            if numeric[i]:  # numbers never wrap; their header may
                minimum.append(max([word, *(display_width(line) for row in body for line in row[i])]))
                whole_words.append(minimum[-1])
            else:
                minimum.append(min(natural[i], max(6, min(word, 12))))
                # keep_words: no column narrower than its longest word up to that many columns,
                # so ``CrashLoopBackOff`` is not split into ``CrashLoopBackOf``/``f`` (when it fits)
                longest = max((display_width(w) for row in body for line in row[i] for w in line.split()
                               if display_width(w) <= keep_words), default=0)
                whole_words.append(max(minimum[-1], min(natural[i], longest)))
        if keep_words and sum(whole_words) + gap * (ncols - 1) <= max_width:
            minimum = whole_words
        elif sum(minimum) + gap * (ncols - 1) > max_width:  # a narrow terminal: text columns give way first
            minimum = [low if numeric[i] else min(low, 4) for i, low in enumerate(minimum)]
        widths = _fit_widths(natural, minimum, max_width, gap)
    separator = " " * gap

    def render(cells: list[list[str]]) -> list[str]:
        wrapped = [[piece for line in cell for piece in wrap_words(line, widths[i])] for i, cell in enumerate(cells)]
        height = max((len(cell) for cell in wrapped), default=1)
        out = []
        for line_no in range(height):
            parts = []
            for i, cell in enumerate(wrapped):
                value = cell[line_no] if line_no < len(cell) else ""
                pad = " " * max(widths[i] - display_width(value), 0)
                parts.append(pad + value if numeric[i] else value + pad)
            out.append(separator.join(parts).rstrip())
        return out

    header = [*render([[title] for title in header_cells]), separator.join("-" * width for width in widths)]
    return TableLayout(header=header, rows=[render(row) for row in body])


def verdict_layer_phrase(verdict: Verdict) -> str:
    """How a verdict's layer reads in a headline: ``scheduler layer``, ``layer unknown``, or nothing.

    The layer ``none`` reads "no broken layer" when nothing is wrong, and is left out when
    something is (a missing object has no layer to blame, and is not a sign of health either).
    """
    if verdict.layer == "unknown":
        return "layer unknown"
    if verdict.layer == "none":
        return "no broken layer" if str(verdict.severity) in ("ok", "info") else ""
    return f"{verdict.layer} layer"
