"""Renderers: turn a :class:`clusterdoc.report.Report` into Slack Block Kit, terminal text or JSON.

* :mod:`clusterdoc.render.blocks` — ``render_report`` (messages + files to upload), ``render_error``;
* :mod:`clusterdoc.render.terminal` — ``render_terminal`` for ``clusterdoc ask`` and ``demo``;
* :mod:`clusterdoc.render.json_report` — ``render_json``, the JSON report of DESIGN.md;
* :mod:`clusterdoc.render.text` — the wrapping, splitting and table layout they share.
"""

from __future__ import annotations

from clusterdoc.render.blocks import SlackFile, SlackMessage, SlackRendering, render_error, render_report
from clusterdoc.render.json_report import render_json
from clusterdoc.render.terminal import render_terminal

__all__ = [
    "SlackFile",
    "SlackMessage",
    "SlackRendering",
    "render_error",
    "render_json",
    "render_report",
    "render_terminal",
]
