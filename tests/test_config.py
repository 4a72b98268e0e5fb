"""Settings: each bad or missing variable is named in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from clusterdoc.config import ConfigError, load_settings


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"SLACK_BOT_TOKEN": "abc"}, "SLACK_BOT_TOKEN: must be a bot token starting with xoxb-"),
        ({"SLACK_APP_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN: must be an app-level token starting with xapp-"),
        ({"REDIS_URL": "http://localhost"}, "REDIS_URL: must be a redis://"),
        ({"SLACK_API_URL": "localhost:9999"}, "SLACK_API_URL: must be an http(s) URL"),
        ({"PORT": "eighty"}, "PORT: Input should be a valid integer"),
        ({"CLUSTERDOC_CONFIG": "/nonexistent.yaml"}, "CLUSTERDOC_CONFIG: file '/nonexistent.yaml' does not exist"),
        ({"CLUSTERDOC_RUNBOOKS": "/nonexistent-dir"}, "CLUSTERDOC_RUNBOOKS: runbook folder '/nonexistent-dir'"),
        ({"CLUSTERDOC_CLUSTER": "prod cluster"}, "CLUSTERDOC_CLUSTER: must be a short name"),
    ],
    ids=["bot-token", "app-token", "redis-url", "slack-url", "port", "config-missing", "runbooks-missing",
         "cluster-name"],
)
def test_bad_setting_is_named(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


def test_require_names_the_missing_variable() -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1"})
    with pytest.raises(ConfigError, match=r"^SLACK_SIGNING_SECRET is not set \(needed by serve\)$"):
        settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", why="by serve")


def test_config_file_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("channels:\n  C1: {cluster: prod}\njobs:\n  timeout_seconds: 60\n")
    config = load_settings({"CLUSTERDOC_CONFIG": str(path)}).file_config()
    assert config.channels["C1"].cluster == "prod"
    assert config.jobs.timeout_seconds == 60


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("jobs:\n  timeout: 60\n", "jobs.timeout: Extra inputs are not permitted"),
        ("jobs:\n  timeout_seconds: 1\n", "jobs.timeout_seconds: Input should be greater than or equal to 10"),
        ("channels: [1, 2\n", "cannot read YAML"),
    ],
    ids=["typo", "out-of-range", "bad-yaml"],
)
def test_bad_config_file_is_named(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_settings({"CLUSTERDOC_CONFIG": str(path)}).file_config()
    message = str(caught.value)
    assert message.startswith(f"CLUSTERDOC_CONFIG: {path}")
    assert expected in message
    assert "\n" not in message
