"""Issue 10 item 6: the ``access:`` policy (verbs x clusters x channels x users/groups), through the real Bolt app.

Signed slash commands go through ``serve``'s HTTP app (Starlette test client) with the policy in
``CLUSTERDOC_CONFIG``; group membership comes from the fake Slack's ``usergroups.users.list``.
Refusals are ephemeral acks naming the rule; nothing is enqueued for a refused command.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from starlette.testclient import TestClient

from clusterdoc.access import AccessPolicy, decide_access
from clusterdoc.bot.server import build
from clusterdoc.config import ConfigError, load_settings
from clusterdoc.queue import named_queue
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.signing import signed_headers, slash_command_body

SECRET = "access-signing-secret-0123456789abc"
POLICY = """
clusters: [prod, staging]
channels:
  C_PROD: {cluster: prod}
  C_STAGE: {cluster: staging}
access:
  default: deny
  rules:
    - name: no-prod-from-random
      effect: deny
      clusters: [prod]
      channels: [C_RANDOM]
    - name: prod-sre
      clusters: [prod]
      groups: [S_SRE]
    - name: staging-everyone
      verbs: [why-pending, describe, events]
      clusters: [staging]
    - name: audit-readers
      verbs: [audit]
      users: [U_LEAD]
"""


class Slash:
    def __init__(self, client: TestClient, redis: Redis) -> None:
        self.client, self.redis = client, redis

    def __call__(self, text: str, user: str, channel: str) -> tuple[int, str]:
        body = slash_command_body(text=text, channel_id=channel, user_id=user, response_url="http://127.0.0.1:9/x")
        answer = self.client.post("/slack/events", content=body, headers=signed_headers(SECRET, body))
        return answer.status_code, (answer.json().get("text", "") if answer.content else "")

    def queued(self) -> int:
        return sum(named_queue(self.redis, f"clusterdoc:{c}").count for c in ("prod", "staging"))


@pytest.fixture
def slash(tmp_path: Path, redis_url: str, fake_slack: FakeSlackServer) -> Iterator[Slash]:
    config = tmp_path / "clusterdoc.yaml"
    config.write_text(POLICY)
    fake_slack.set_usergroup("S_SRE", ["U_SRE"])
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_SIGNING_SECRET": SECRET,
                              "SLACK_API_URL": fake_slack.url, "REDIS_URL": redis_url,
                              "CLUSTERDOC_CONFIG": str(config)})
    http_app, _bot, _start = build(settings)
    with TestClient(http_app) as client:
        yield Slash(client, Redis.from_url(redis_url))


@pytest.mark.parametrize(("text", "user", "channel", "allowed", "rule"), [
    ("why-pending web-0 -n shop", "U_SRE", "C_PROD", True, ""),                        # group member
    ("why-pending web-0 -n shop", "U_DEV", "C_PROD", False, "deny by default"),        # not in the group
    ("why-pending web-0 -n shop -c prod", "U_SRE", "C_RANDOM", False, "no-prod-from-random"),
    ("why-pending web-0 -n shop", "U_DEV", "C_STAGE", True, ""),                       # staging, listed verb
    ("why-pending web-0 -n shop -c staging", "U_DEV", "C_PROD", True, ""),             # -c picks the cluster
    ("audit", "U_DEV", "C_STAGE", False, "deny by default"),
    ("audit", "U_LEAD", "C_STAGE", True, ""),
    ("help", "U_NOBODY", "C_RANDOM", True, ""),
], ids=["group-member", "not-in-group", "deny-rule-channel", "staging-verb", "cluster-option", "audit-refused",
        "audit-allowed", "help-always"])
def test_access_policy_decides_and_refusals_are_ephemeral_and_named(
    slash: Slash, text: str, user: str, channel: str, allowed: bool, rule: str
) -> None:
    status, answer = slash(text, user, channel)
    assert status == 200
    if allowed:
        assert "may not run" not in answer
    else:
        assert f"<@{user}> may not run" in answer and f"(rule: {rule}" in answer
        assert slash.queued() == 0, "a refused command was enqueued"


def test_default_allows_everything_as_before() -> None:
    policy = AccessPolicy()
    assert decide_access(policy, "describe", "prod", "C1", "U1", lambda g: set()).allowed


def test_malformed_access_section_fails_at_start(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("access:\n  default: maybe\n")
    with pytest.raises(ConfigError, match="CLUSTERDOC_CONFIG"):
        load_settings({"CLUSTERDOC_CONFIG": str(config)}).file_config()
