"""Issue 10 item 11: a report is posted exactly once, even when Slack stored a message but the answer was lost.

The fake Slack speaks the real protocol: ``chat.postMessage`` with ``metadata``, and
``conversations.replies`` with ``include_all_metadata`` and cursor paging. Its
``fail_after_delivery`` stores the message and then answers 500 (the ambiguous case); its
``server_error`` answers 500 without storing anything (the plain case).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from redis import Redis
from rq.job import JobStatus

from clusterdoc.approvals.blocks import APPROVE_ACTION_ID
from clusterdoc.config import JobSettings
from clusterdoc.queue import DiagnosisRequest, enqueue_diagnosis
from clusterdoc.report import Target
from clusterdoc.slack.publisher import PART_EVENT_TYPE
from clusterdoc.workers.process import run_worker
from tests.conftest import FakeKubeFactory
from tests.harness.fake_kube import write_kubeconfig
from tests.harness.fake_slack import FakeSlackServer
from tests.test_queue_worker import post_root, worker_settings

JOBS = JobSettings(timeout_seconds=60, retries=2, retry_intervals=[0, 0])


def _run(redis_url: str, fake_slack: FakeSlackServer, fake_kube: FakeKubeFactory, examples_dir: Path,
         tmp_path: Path, fault: Callable[[], None]) -> tuple[str, list[dict[str, object]]]:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", fake_kube(examples_dir / "crashloop").url)
    thread = post_root(fake_slack)
    fault()
    request = DiagnosisRequest("describe", "describe", Target("Deployment", "api", "shop"))
    job = enqueue_diagnosis(Redis.from_url(redis_url), request, thread, JOBS)
    run_worker(worker_settings(redis_url, fake_slack, kubeconfig), None, burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    return job.id, fake_slack.thread(thread.ts)


def _report_replies(replies: list[dict[str, object]]) -> list[dict[str, object]]:
    """The thread's replies less the Approve/Dismiss offers (posted by the approval service, not parts
    of the report)."""
    return [m for m in replies if APPROVE_ACTION_ID not in json.dumps(m.get("blocks") or [])]


def _parts(replies: list[dict[str, object]]) -> list[str]:
    return [str(m["metadata"]["event_payload"]["part"]) for m in replies  # type: ignore[index]
            if isinstance(m.get("metadata"), dict) and m["metadata"].get("event_type") == PART_EVENT_TYPE]  # type: ignore[union-attr]


def test_answer_lost_after_delivery_posts_nothing_twice(
    redis_url: str, fake_slack: FakeSlackServer, fake_kube: FakeKubeFactory, examples_dir: Path, tmp_path: Path
) -> None:
    # the first two report messages: stored, then 500
    job_id, replies = _run(redis_url, fake_slack, fake_kube, examples_dir, tmp_path,
                           lambda: fake_slack.fail_after_delivery("chat.postMessage", times=2))
    parts = _parts(replies)
    assert parts and len(parts) == len(set(parts)), f"a part was posted twice: {parts}"
    assert all(part.startswith(f"{job_id}:message:") for part in parts)
    assert len(_report_replies(replies)) == len(parts)
    assert fake_slack.calls_to("conversations.replies"), "the thread was not checked after the lost answer"


def test_plain_500_is_posted_exactly_once(
    redis_url: str, fake_slack: FakeSlackServer, fake_kube: FakeKubeFactory, examples_dir: Path, tmp_path: Path
) -> None:
    # refused, nothing stored
    _job_id, replies = _run(redis_url, fake_slack, fake_kube, examples_dir, tmp_path,
                            lambda: fake_slack.server_error("chat.postMessage", times=1))
    parts = _parts(replies)
    assert parts and len(parts) == len(set(parts))
    assert "message:0" in parts[0]  # the refused first part arrived after all, once


def test_429_stays_exactly_once_without_reading_the_thread(
    redis_url: str, fake_slack: FakeSlackServer, fake_kube: FakeKubeFactory, examples_dir: Path, tmp_path: Path
) -> None:
    _job_id, replies = _run(redis_url, fake_slack, fake_kube, examples_dir, tmp_path,
                            lambda: fake_slack.rate_limit("chat.postMessage", times=1, retry_after=0))
    parts = _parts(replies)
    assert parts and len(parts) == len(set(parts))
    assert not fake_slack.calls_to("conversations.replies")


def test_fake_slack_replies_pages_and_hides_metadata_unless_asked(fake_slack: FakeSlackServer) -> None:
    from slack_sdk import WebClient

    client = WebClient(token="xoxb-t", base_url=fake_slack.url)
    root = client.chat_postMessage(channel="C1", text="root")["ts"]
    for n in range(20):
        client.chat_postMessage(channel="C1", thread_ts=root, text=f"r{n}",
                                metadata={"event_type": "x", "event_payload": {"n": n}})
    first = client.conversations_replies(channel="C1", ts=root, include_all_metadata=True)
    assert first["has_more"] and first["messages"][0]["ts"] == root
    second = client.conversations_replies(channel="C1", ts=root, include_all_metadata=True,
                                          cursor=first["response_metadata"]["next_cursor"])
    assert len(first["messages"]) + len(second["messages"]) == 21 and not second["has_more"]
    assert "metadata" in second["messages"][-1]
    plain = client.conversations_replies(channel="C1", ts=root)
    assert all("metadata" not in m for m in plain["messages"])


def test_without_history_scope_a_lost_answer_is_posted_again_not_failed(
    redis_url: str, fake_slack: FakeSlackServer, fake_kube: FakeKubeFactory, examples_dir: Path, tmp_path: Path
) -> None:
    def fault() -> None:
        fake_slack.fail_after_delivery("chat.postMessage", times=1)
        fake_slack.server_error("conversations.replies", times=10)  # the thread cannot be read

    _job_id, replies = _run(redis_url, fake_slack, fake_kube, examples_dir, tmp_path, fault)
    parts = _parts(replies)
    assert parts.count(parts[0]) == 2  # at least once, as before the check existed; the job still finished
