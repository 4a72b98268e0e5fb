"""Issue 10 items 3 and 4: outside text is escaped for mrkdwn and secret shapes are redacted before Slack.

Alert payloads go through the real intake and dispatcher to the fake Slack; cluster text (event
messages, container logs) goes through a real worker job reading a snapshot whose log and events
were given hostile lines. Each test asserts what the fake Slack received.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from rq.job import JobStatus

from clusterdoc.queue import DiagnosisRequest, enqueue_diagnosis
from clusterdoc.redact import Redactions, redact
from clusterdoc.report import Target
from clusterdoc.workers.process import run_worker
from tests.harness.alertmanager import alert, webhook_payload
from tests.harness.fake_slack import FakeSlackServer
from tests.test_alerts_dispatcher import T0, Env
from tests.test_alerts_dispatcher import env as env
from tests.test_queue_worker import QUICK_JOBS, post_root, thread_text, worker_settings

INJECTIONS = {
    "channel": "<!channel>",
    "here": "<!here>",
    "subteam": "<!subteam^S0123ABC|@oncall>",
    "user": "<@U0ADMIN>",
    "disguised-link": "<https://evil.example/steal|Runbook>",
}


def _root_json(env: Env) -> str:
    roots = env.roots()
    assert len(roots) == 1
    return json.dumps({"text": roots[0]["text"], "attachments": roots[0]["attachments"]})


@pytest.mark.parametrize("place", ["alertname", "summary", "description", "label"])
@pytest.mark.parametrize("kind", sorted(INJECTIONS))
def test_alert_text_is_posted_inert(env: Env, kind: str, place: str) -> None:
    evil = INJECTIONS[kind]
    annotations = {"summary": "disk full", "description": "see runbook"}
    labels: dict[str, str] = {"namespace": "shop", "pod": "api-1", "severity": "warning"}
    name = "KubePodCrashLooping"
    if place == "alertname":
        name = f"Crash {evil}"
    elif place in ("summary", "description"):
        annotations[place] = f"ping {evil} now"
    else:
        labels["pod"] = f"api {evil}"
    env.deliver(webhook_payload([alert(name, starts=T0, annotations=annotations, **labels)]))
    posted = _root_json(env)
    assert evil not in posted, f"{kind} reached Slack as markup via the {place}"
    escaped = evil.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert json.dumps(escaped)[1:-1] in posted


def test_links_only_from_link_fields_with_their_real_host(env: Env) -> None:
    annotations = {"summary": "s", "runbook_url": "https://evil.example/x|Runbook>"}
    env.deliver(webhook_payload([alert("KubePodCrashLooping", starts=T0, annotations=annotations, namespace="shop")]))
    posted = _root_json(env)
    assert "|Runbook (evil.example)>" in posted  # the host shows; the injected "|Runbook>" is inert
    assert "x%7CRunbook%3E" in posted
    assert "|Source (prometheus.example)>" in posted


def test_non_http_links_are_dropped(env: Env) -> None:
    annotations = {"summary": "s", "runbook_url": "javascript:alert(1)"}
    env.deliver(webhook_payload([alert("KubePodCrashLooping", starts=T0, annotations=annotations, namespace="shop")]))
    posted = _root_json(env)
    assert "javascript" not in posted and "Runbook" not in posted


# -- redaction -----------------------------------------------------------------------------------
SECRETS: dict[str, tuple[str, str]] = {
    "slack": ("token xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp", "Slack token"),
    "aws-key-id": ("key AKIAIOSFODNN7EXAMPLE used", "AWS access key id"),
    "aws-secret": ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS secret key"),
    "github": ("ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ cloned", "GitHub token"),
    "github-pat": ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "GitHub token"),
    "jwt": ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "JWT"),
    "pem": ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA\n-----END RSA PRIVATE KEY-----", "PEM private key"),
    "bearer": ("Authorization: Bearer abc.def-ghi_jkl", "authorization header"),
    "password": ("db password=hunter2hunter2 ok", "password"),
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_each_secret_shape_is_redacted_and_counted(name: str) -> None:
    text, kind = SECRETS[name]
    found = Redactions()
    out = redact(f"before {text} after", found)
    assert f"[REDACTED {kind}]" in out
    assert found.counts[kind] == 1
    secret_part = {"password": "hunter2hunter2", "bearer": "abc.def-ghi_jkl", "pem": "MIIEow"}.get(name, text)
    assert secret_part not in out
    assert out.startswith("before ") and out.endswith(" after")


def test_ordinary_log_lines_are_left_alone() -> None:
    line = '{"level":"warn","msg":"GC pressure high","heap_mb":238,"password_policy":"strong"} token bucket 3/5'
    found = Redactions()
    assert redact(line, found) == line and found.total == 0


def _hostile_snapshot(examples_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "crashloop"
    shutil.copytree(examples_dir / "crashloop", folder)
    log = folder / "logs" / "shop" / "api-6d8f7b9c54-x2x7k" / "api.previous.log"
    hostile = "\n".join(f"evil {text}" for text, _ in SECRETS.values())
    log.write_text(log.read_text() + f"\nwake <!channel> and <@U0ADMIN> see <https://evil.example|docs>\n{hostile}\n")
    cluster = folder / "cluster.yaml"
    cluster.write_text(cluster.read_text().replace(
        "message: Started container api", "message: 'Started container api <!here> password=hunter2hunter2'"))
    return folder


def test_worker_posts_logs_and_events_escaped_and_redacted(
    redis_url: str, fake_slack: FakeSlackServer, examples_dir: Path, tmp_path: Path
) -> None:
    settings = worker_settings(redis_url, fake_slack, tmp_path / "unused").model_copy(
        update={"CLUSTERDOC_SNAPSHOT": str(_hostile_snapshot(examples_dir, tmp_path))})
    thread = post_root(fake_slack)
    request = DiagnosisRequest("crashloop", "crashloop", Target("Pod", "api-6d8f7b9c54-x2x7k", "shop"))
    job = enqueue_diagnosis(Redis.from_url(redis_url), request, thread, QUICK_JOBS)
    run_worker(settings, None, burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    posted = thread_text(fake_slack, thread)
    messages: list[Any] = [m.get("blocks", "") for m in fake_slack.thread(thread.ts)]
    assert "wake" in posted, "the log excerpt was not posted at all"
    for raw in ("<!channel>", "<@U0ADMIN>", "<https://evil.example|docs>", "<!here>"):
        assert raw not in json.dumps(messages)
    assert "&lt;!channel&gt;" in json.dumps(messages) or "&lt;!channel&gt;" in posted
    for text, _kind in SECRETS.values():
        assert text not in posted
    assert "hunter2hunter2" not in posted and "AKIAIOSFODNN7EXAMPLE" not in posted
    assert "[REDACTED" in posted
    assert "secret-looking string" in posted  # the thread is told that something was redacted
