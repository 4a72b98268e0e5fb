"""Which Slack scopes clusterdoc needs, three ways: the table (slack/scopes.yaml), the Web API methods the
code calls (read from the source), and the methods the test suite really called against the fake Slack.

The manifests' bot scopes must be exactly the table's bot-token scopes plus ``commands``; every
method the code or the suite calls must be in the table; and after a complete run of the suite,
every method in the table must have been called (else the table, and the manifests, ask too much).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "slack" / "scopes.yaml"
MANIFESTS = (ROOT / "slack" / "manifest.yaml", ROOT / "slack" / "manifest-socket-mode.yaml")
SOURCES = ("bot", "workers", "clusterdoc")
RESULT_FILE = ROOT / ".pytest_cache" / "clusterdoc-slack-methods.txt"

_SDK_CALL = re.compile(r"\.((?:chat|files|usergroups|users|conversations|reactions|views|pins|auth|apps|team|bots)"
                       r"_[A-Za-z0-9_]+)\(")
_API_CALL = re.compile(r"""api_call\(\s*["']([a-z]+\.[A-Za-z.]+)["']""")
_SDK_NAME = re.compile(
    r"""["']((?:chat|files|usergroups|users|conversations|reactions|views|pins)_[A-Za-z0-9_]+)["']""")
"""A client method named in a string (``getattr(client, "chat_postEphemeral")`` through a helper)."""
_EXPANDS = {"files_upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal")}
NOT_WEB_API = frozenset({"api.test"})


def table() -> dict[str, dict[str, Any]]:
    methods: dict[str, dict[str, Any]] = yaml.safe_load(TABLE.read_text(encoding="utf-8"))["methods"]
    return methods


def feature_scopes() -> set[str]:
    return set(yaml.safe_load(TABLE.read_text(encoding="utf-8"))["feature_scopes"])


def needed_bot_scopes(methods: set[str] | None = None) -> set[str]:
    """The bot-token scopes ``methods`` (default: the whole table) need, plus the features' (``commands``)."""
    rows = table()
    chosen = rows.keys() if methods is None else methods & rows.keys()
    return {rows[m]["scope"] for m in chosen if rows[m]["token"] == "bot" and rows[m]["scope"]} | feature_scopes()


def manifest_bot_scopes(path: Path) -> set[str]:
    return set(yaml.safe_load(path.read_text(encoding="utf-8"))["oauth_config"]["scopes"]["bot"])


def _method_name(sdk_name: str) -> tuple[str, ...]:
    if sdk_name in _EXPANDS:
        return _EXPANDS[sdk_name]
    return (sdk_name.replace("_", "."),)


def code_methods() -> set[str]:
    """Web API methods named in the shipped source: ``client.chat_postMessage(`` and ``api_call("x.y"``."""
    found: set[str] = set()
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            if path.is_symlink() or any(p.is_symlink() for p in path.relative_to(ROOT).parents if p != Path(".")):
                continue
            text = path.read_text(encoding="utf-8")
            for name in _SDK_CALL.findall(text) + _SDK_NAME.findall(text):
                found.update(_method_name(name))
            found.update(_API_CALL.findall(text))
    return found


def session_problems(called: set[str], *, complete: bool) -> list[str]:
    """What is wrong with the table given the methods the suite called; ``complete``: the whole suite ran."""
    rows = table()
    called = called - NOT_WEB_API
    problems = [f"the tests called Slack's {m} but slack/scopes.yaml does not list it (what scope does it need?)"
                for m in sorted(called - rows.keys())]
    if complete:
        problems += [f"slack/scopes.yaml lists {m} but no test called it: drop it (and its scope) or test it"
                     for m in sorted(rows.keys() - called)]
        for manifest in MANIFESTS:
            extra = manifest_bot_scopes(manifest) - needed_bot_scopes(called)
            if extra:
                problems.append(f"{manifest.name} asks for {sorted(extra)}, which no call of the test suite needed")
    return problems
