"""Issue 10 item 13: property-based tests (Hypothesis) over everything that reads outside input.

Each property says what the code promises: the ``/k8s`` parser answers or raises
:class:`CommandError`; Alertmanager bodies parse or raise :class:`PayloadError`, and ``/alerts``
never answers 5xx; runbook files load or raise :class:`RunbookError`; snapshots load or raise
:class:`SnapshotError`; the FailedScheduling parser never raises and never invents counts;
approval click payloads always give a :class:`Click`, and signed ``block_actions`` bodies never
make ``/slack/events`` answer 5xx. Generated inputs mix raw text with near-valid structures, so
the interesting branches are reached. Example counts are fixed below (``EXAMPLES``) and the
number actually tried is printed at the end of the module (``pytest -s``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.testclient import TestClient

from clusterdoc.alert_config import AlertSettings
from clusterdoc.bot.alerts.endpoint import AlertsEndpoint
from clusterdoc.bot.alerts.payload import PayloadError, WebhookPayload, parse_payload
from clusterdoc.bot.approvals.listeners import click_from
from clusterdoc.bot.commands import CommandError, ParsedCommand, parse_command
from clusterdoc.bot.server import build
from clusterdoc.config import load_settings
from clusterdoc.queue import Click
from clusterdoc.workers.cluster.snapshot import SnapshotError, SnapshotStore
from clusterdoc.workers.runbook.loader import Catalogue, RunbookError, load_file
from clusterdoc.workers.scheduling.message import ParsedMessage, parse
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.signing import signed_headers

EXAMPLES = {"k8s": 1500, "payload": 1200, "alerts_http": 400, "runbook": 1000, "snapshot": 800,
            "scheduling": 1500, "click": 1200, "click_http": 400}
"""Inputs per property: 1,500-1,600 for each reader (Alertmanager payloads and clicks split between the
function and the HTTP endpoint), 1,000 runbook and 800 snapshot files (each one written and read);
8,000 in all, about 30 s of CPU."""
TRIED: Counter[str] = Counter()
DERANDOMIZE = bool(os.environ.get("CI"))
"""Under CI (``CI=true``) the inputs are the same every run, so a red build is always reproducible; a
developer's run draws new inputs each time and goes on finding new cases (each becomes a plain test)."""


def fuzz(name: str) -> settings:
    """Settings for one property: its example count, no deadline (shared CI cores), no example database."""
    return settings(max_examples=EXAMPLES[name], deadline=None, database=None, derandomize=DERANDOMIZE,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CATALOGUE = Catalogue.load([])


@pytest.fixture(scope="module", autouse=True)
def report_counts() -> Iterator[None]:
    yield
    print("\ninputs tried: " + ", ".join(f"{name} {TRIED[name]}" for name in EXAMPLES))


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=8)

# -- /k8s --------------------------------------------------------------------------------------
VERBS = ["why-pending", "describe", "events", "crashloop", "node", "help", "runbooks", "audit", "run", "health",
         "rollout", "deploy"]
WORDS = st.sampled_from([*VERBS, "-n", "-c", "--namespace", "--cluster", "pod/web-0", "deploy/api", "node/n1",
                                 "secret/x", "web-0", "shop", "prod", "k=v", "log_lines=5", "'quoted word'", '"',
                                 "'", "<@U1>", "<#C1|x>", "-", "--", "=", "é", "x" * 300, "50", "0", "-1"])
k8s_texts = st.text(max_size=200) | st.lists(WORDS | st.text(max_size=12), max_size=12).map(" ".join)


@fuzz("k8s")
@given(text=k8s_texts)
def test_k8s_parser_answers_or_raises_command_error(text: str) -> None:
    TRIED["k8s"] += 1
    try:
        parsed = parse_command(text, default_cluster="default", catalogue=CATALOGUE, known_clusters=["default", "prod"])
    except CommandError as exc:
        assert str(exc).strip()
        return
    assert isinstance(parsed, ParsedCommand)


# -- Alertmanager payloads -----------------------------------------------------------------------
label_sets = st.dictionaries(st.sampled_from(["alertname", "namespace", "pod", "severity", "node", "x"])
                             | st.text(max_size=10), st.text(max_size=20) | json_scalars, max_size=5)
times = st.sampled_from(["2024-11-12T09:30:00Z", "0001-01-01T00:00:00Z", "yesterday", "", "2024-13-45T99:99:99Z"]) \
    | st.text(max_size=25) | st.integers()
alerts = st.fixed_dictionaries({"labels": label_sets}, optional={
    "status": st.sampled_from(["firing", "resolved", "pending", ""]) | json_scalars,
    "annotations": st.dictionaries(st.text(max_size=10), st.text(max_size=30) | json_scalars, max_size=3),
    "startsAt": times, "endsAt": times, "generatorURL": st.text(max_size=30) | json_scalars,
    "fingerprint": st.text(max_size=20) | json_scalars,
})
payloads = st.fixed_dictionaries({"alerts": st.lists(alerts, max_size=4) | json_values}, optional={
    "version": st.sampled_from(["4", "3", 4]) | json_scalars, "status": st.sampled_from(["firing", "resolved"]),
    "receiver": st.text(max_size=10) | json_scalars, "groupLabels": label_sets, "commonLabels": label_sets,
    "commonAnnotations": label_sets, "externalURL": st.text(max_size=20), "groupKey": st.text(max_size=20),
    "truncatedAlerts": st.integers() | json_scalars,
})
bodies = payloads.map(lambda p: json.dumps(p).encode()) | json_values.map(lambda v: json.dumps(v).encode()) \
    | st.binary(max_size=200) | st.sampled_from([b"[" * 5000, b"1" * 5000, b'{"alerts": [' + b"9" * 5000 + b"]}"])


@fuzz("payload")
@given(body=bodies)
def test_alertmanager_payload_parses_or_raises_payload_error(body: bytes) -> None:
    TRIED["payload"] += 1
    try:
        payload = parse_payload(body)
    except PayloadError as exc:
        assert str(exc).strip()
        return
    assert isinstance(payload, WebhookPayload)


@pytest.fixture(scope="module")
def alerts_client(redis_server: Any) -> TestClient:
    from redis import Redis

    endpoint = AlertsEndpoint(Redis.from_url(redis_server.url), "fuzz-token", AlertSettings())
    return TestClient(Starlette(routes=[endpoint.route()]))


@fuzz("alerts_http")
@given(body=bodies)
def test_alerts_endpoint_never_answers_5xx(alerts_client: TestClient, body: bytes) -> None:
    TRIED["alerts_http"] += 1
    answer = alerts_client.post("/alerts", content=body, headers={"Authorization": "Bearer fuzz-token"})
    assert answer.status_code in (200, 400, 413), answer.text
    assert answer.json()["ok"] is (answer.status_code == 200)


# -- runbooks and snapshots ------------------------------------------------------------------------
steps = st.lists(st.fixed_dictionaries({"kind": st.sampled_from(["events", "describe", "scheduling", "nope"])
                                        | json_scalars},
                                       optional={"id": st.text(max_size=8) | json_scalars,
                                                 "with": st.dictionaries(st.text(max_size=8), json_values,
                                                                         max_size=3) | json_scalars}), max_size=4)
runbook_docs = st.fixed_dictionaries({}, optional={
    "name": st.sampled_from(["why-pending", "my-book", "Bad Name", ""]) | json_scalars,
    "title": st.text(max_size=20) | json_scalars, "steps": steps | json_values,
    "targets": st.lists(st.sampled_from(["Pod", "Node", "Secret", "Nope"]), max_size=3) | json_values,
    "params": st.dictionaries(st.text(max_size=8), json_values, max_size=3) | json_values,
    "verdict_step": st.text(max_size=8) | json_scalars,
})
yaml_texts = runbook_docs.map(yaml.safe_dump) | json_values.map(yaml.safe_dump) | st.text(max_size=300)


def _write(text: str, suffix: str) -> Path:
    handle = tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False, encoding="utf-8")
    with handle:
        handle.write(text)
    return Path(handle.name)


@fuzz("runbook")
@given(text=yaml_texts)
def test_runbook_loads_or_raises_runbook_error(text: str) -> None:
    TRIED["runbook"] += 1
    path = _write(text, ".yaml")
    try:
        load_file(path)
    except RunbookError as exc:
        assert exc.problems and all(line.strip() for line in exc.problems)
    finally:
        path.unlink()


objects = st.fixed_dictionaries({}, optional={
    "kind": st.sampled_from(["Pod", "Node", "Event", "List", "Secret", "Nope", ""]) | json_scalars,
    "apiVersion": st.sampled_from(["v1", "apps/v1", ""]) | json_scalars,
    "metadata": st.fixed_dictionaries({}, optional={"name": st.text(max_size=10) | json_scalars,
                                                    "namespace": st.text(max_size=8) | json_scalars,
                                                    "creationTimestamp": times}) | json_values,
    "items": st.lists(json_values, max_size=3) | json_values,
    "spec": json_values, "status": json_values,
})
snapshot_texts = st.lists(objects, max_size=3).map(lambda docs: yaml.safe_dump_all(docs)) \
    | objects.map(lambda obj: yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [obj]})) \
    | st.text(max_size=300)


@fuzz("snapshot")
@given(text=snapshot_texts, suffix=st.sampled_from([".yaml", ".json"]))
def test_snapshot_loads_or_raises_snapshot_error(text: str, suffix: str) -> None:
    TRIED["snapshot"] += 1
    path = _write(text, suffix)
    try:
        SnapshotStore.load(path)
    except SnapshotError as exc:
        assert str(exc).strip()
    finally:
        path.unlink()


# -- FailedScheduling messages ----------------------------------------------------------------------
PHRASES = ["Insufficient cpu", "Insufficient memory", "node(s) had untolerated taint {dedicated: gpu}",
           "node(s) had untolerated taint(s)", "node(s) didn't match Pod's node affinity/selector",
           "node(s) were unschedulable", "Too many pods", "node(s) had volume node affinity conflict",
           "pod has unbound immediate PersistentVolumeClaims", "node(s) didn't have free ports for the requested "
           "pod ports", "Insufficient nvidia.com/gpu", "PodToleratesNodeTaints", "something new"]
reasons = st.lists(st.tuples(st.integers(-3, 10**6), st.sampled_from(PHRASES) | st.text(max_size=20)), max_size=5)
scheduling_messages = st.text(max_size=300) | st.builds(
    lambda total, parts, tail: f"0/{total} nodes are available: " + ", ".join(f"{n} {p}" for n, p in parts)
    + tail, st.integers(-5, 10**9), reasons,
    st.sampled_from([".", "..", ". preemption: 0/5 nodes are available: 5 No preemption victims found for incoming "
                     "pod.", "", " preemption: not eligible due to preemptionPolicy=Never."]))


@fuzz("scheduling")
@given(message=scheduling_messages)
def test_failed_scheduling_parser_never_raises(message: str) -> None:
    TRIED["scheduling"] += 1
    parsed = parse(message)
    assert isinstance(parsed, ParsedMessage)
    assert all(reason.nodes is None or reason.nodes >= 0 for reason in parsed.reasons)


# -- approval clicks ---------------------------------------------------------------------------------
action_items = st.fixed_dictionaries({}, optional={"action_id": st.sampled_from(["clusterdoc_approve",
                                                                                 "clusterdoc_dismiss"]) | json_scalars,
                                                   "value": st.text(max_size=20) | json_scalars,
                                                   "block_id": st.text(max_size=20) | json_scalars})
click_bodies = st.fixed_dictionaries({}, optional={
    "type": st.just("block_actions") | json_scalars, "actions": st.lists(action_items, max_size=2) | json_values,
    "user": st.fixed_dictionaries({}, optional={"id": st.text(max_size=10) | json_scalars}) | json_values,
    "channel": st.fixed_dictionaries({}, optional={"id": st.text(max_size=10) | json_scalars}) | json_values,
    "container": json_values, "team": json_values, "response_url": st.text(max_size=20) | json_scalars,
}) | json_values


@fuzz("click")
@given(body=click_bodies, kind=st.sampled_from(["approve", "dismiss"]))
def test_click_payload_always_reads_as_a_click(body: Any, kind: str) -> None:
    TRIED["click"] += 1
    click = click_from(body, kind)
    assert isinstance(click, Click) and isinstance(click.pending_id, str) and isinstance(click.user, str)


SECRET = "fuzz-signing-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def bolt_client(redis_server: Any) -> Iterator[TestClient]:
    with FakeSlackServer() as slack:
        http_app, _bot, _start = build(load_settings({
            "SLACK_BOT_TOKEN": "xoxb-fuzz", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url,
            "REDIS_URL": redis_server.url}))
        with TestClient(http_app) as client:
            yield client


@fuzz("click_http")
@given(body=click_bodies, raw=st.booleans())
def test_signed_click_bodies_never_answer_5xx(bolt_client: TestClient, body: Any, raw: bool) -> None:
    TRIED["click_http"] += 1
    content = urlencode({"payload": json.dumps(body)}).encode()
    if raw:
        content = json.dumps(body).encode()
    answer = bolt_client.post("/slack/events", content=content, headers=signed_headers(SECRET, content))
    assert answer.status_code < 500, answer.text
