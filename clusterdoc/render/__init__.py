"""Renderers: turn a :class:`clusterdoc.report.Report` into Slack Block Kit, terminal text or JSON.

* :mod:`clusterdoc.render.blocks` — ``render_report`` (messages + files to upload), ``render_error``;
* :mod:`clusterdoc.render.terminal` — ``render_terminal`` for ``clusterdoc ask`` and ``demo``;
* :mod:`clusterdoc.render.json_report` — ``render_json``, the JSON report of DESIGN.md;
* :mod:`clusterdoc.render.text` — the wrapping, splitting and table layout they share.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clusterdoc.render.blocks import SlackFile, SlackMessage, SlackRendering, render_error, render_report
    from clusterdoc.render.json_report import render_json
    from clusterdoc.render.terminal import render_terminal

_HOME = {
    "SlackFile": "blocks",
    "SlackMessage": "blocks",
    "SlackRendering": "blocks",
    "render_error": "blocks",
    "render_report": "blocks",
    "render_json": "json_report",
    "render_terminal": "terminal",
}
"""Where each name lives: imported on first use, so the terminal renderer does not load the Slack SDK."""


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)


__all__ = [
    "SlackFile",
    "SlackMessage",
    "SlackRendering",
    "render_error",
    "render_json",
    "render_report",
    "render_terminal",
]
