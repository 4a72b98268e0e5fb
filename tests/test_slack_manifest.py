"""The Slack app manifests ask for exactly the scopes the code's Web API calls need.

Three views must agree: slack/scopes.yaml (method -> scope), the methods named in the shipped
source, and docs/slack.md's table; the manifests' bot scopes are the table's plus `commands`. The
methods the test suite really calls against the fake Slack are checked against the same table at the
end of the session (tests/conftest.py, pytest_sessionfinish), which fails the run on a mismatch.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.harness import slack_scopes

ROOT = Path(__file__).resolve().parent.parent


def test_code_calls_exactly_the_methods_in_the_table() -> None:
    in_code = slack_scopes.code_methods()
    # auth.test comes from Bolt (token check at start) and apps.connections.open from slack_sdk's
    # Socket Mode client: called by the libraries, not named in our source.
    library = {"auth.test", "apps.connections.open"}
    assert in_code | library == set(slack_scopes.table())


@pytest.mark.parametrize("manifest", slack_scopes.MANIFESTS, ids=lambda p: p.stem)
def test_manifest_bot_scopes_are_the_tables(manifest: Path) -> None:
    assert slack_scopes.manifest_bot_scopes(manifest) == slack_scopes.needed_bot_scopes()
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    (command,) = data["features"]["slash_commands"]
    assert command["command"] == "/k8s"
    assert data["settings"]["interactivity"]["is_enabled"] is True
    socket = manifest.stem.endswith("socket-mode")
    assert data["settings"]["socket_mode_enabled"] is socket
    if not socket:  # HTTP: both go to the one endpoint serve has
        assert command["url"].endswith("/slack/events")
        assert data["settings"]["interactivity"]["request_url"] == command["url"]
    else:
        assert "url" not in command and "request_url" not in data["settings"]["interactivity"]


def test_docs_table_matches() -> None:
    text = (ROOT / "docs" / "slack.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([a-zA-Z.]+)` \| `?([a-z:]+|none)`? \|", text, flags=re.M))
    expected = {method: (row["scope"] or "none") for method, row in slack_scopes.table().items()}
    assert rows == expected


def test_the_session_check_reports_both_directions() -> None:
    table = set(slack_scopes.table())
    assert slack_scopes.session_problems(table, complete=True) == []
    missing = slack_scopes.session_problems(table | {"reactions.add"}, complete=False)
    assert missing and "reactions.add" in missing[0]
    unneeded = slack_scopes.session_problems(table - {"usergroups.users.list"}, complete=True)
    assert any("usergroups.users.list" in p for p in unneeded)
    assert any("usergroups:read" in p for p in unneeded)
    assert slack_scopes.session_problems(table - {"usergroups.users.list"}, complete=False) == []
