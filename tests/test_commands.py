"""The /k8s command language: what each command text becomes, and how bad input is answered."""

from __future__ import annotations

from pathlib import Path

import pytest

from clusterdoc.bot.commands import VERBS, CommandError, parse_command
from clusterdoc.report import Target
from clusterdoc.workers.runbook.loader import Catalogue, Runbook
from clusterdoc.workers.runbook.schema import RunbookSpec


def _runbook(name: str, title: str, targets: list[str], params: dict[str, str | int] | None = None) -> Runbook:
    spec = RunbookSpec.model_validate(
        {"name": name, "title": title, "targets": targets, "params": params or {}, "steps": [{"kind": "describe"}]}
    )
    return Runbook(spec, Path(f"{name}.yaml"))


CATALOGUE = Catalogue(
    {
        "why-pending": _runbook("why-pending", "Why is this pod Pending?", ["Pod", "Deployment", "StatefulSet"]),
        "describe": _runbook("describe", "Describe an object", ["Pod", "Node", "Deployment", "StatefulSet",
                                                                "PersistentVolumeClaim"]),
        "events": _runbook("events", "Events of an object", ["Pod", "Deployment", "Node"], {"limit": 15}),
        "node-pressure": _runbook("node-pressure", "Node pressure", [], {"threshold": 80}),
    }
)


def parse(text: str, **kwargs: object):  # type: ignore[no-untyped-def]
    return parse_command(text, default_cluster="prod", catalogue=CATALOGUE, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "runbook", "target", "cluster", "params"),
    [
        ("why-pending web-0 -n shop", "why-pending", Target("Pod", "web-0", "shop"), "prod", {}),
        ("why-pending -n shop web-0", "why-pending", Target("Pod", "web-0", "shop"), "prod", {}),
        ("why-pending --namespace=shop po/web-0", "why-pending", Target("Pod", "web-0", "shop"), "prod", {}),
        ("why-pending web-0", "why-pending", Target("Pod", "web-0", "default"), "prod", {}),
        ("why-pending deploy/web -n shop -c staging", "why-pending", Target("Deployment", "web", "shop"),
         "staging", {}),
        ("WHY-PENDING sts/db --cluster staging", "why-pending", Target("StatefulSet", "db", "default"),
         "staging", {}),
        ("describe node/ip-10-0-1-5 -n shop", "describe", Target("Node", "ip-10-0-1-5", None), "prod", {}),
        ("describe no/ip-10-0-1-5.ec2.internal", "describe", Target("Node", "ip-10-0-1-5.ec2.internal", None),
         "prod", {}),
        ("describe pvc/data-db-0 -n db", "describe",
         Target("PersistentVolumeClaim", "data-db-0", "db"), "prod", {}),
        ("events deploy/web -n shop limit=5", "events", Target("Deployment", "web", "shop"), "prod",
         {"limit": "5"}),
        ("run events web-0 -n shop", "events", Target("Pod", "web-0", "shop"), "prod", {}),
        ("run node-pressure threshold=90", "node-pressure", None, "prod", {"threshold": "90"}),
        ("describe <http://ip-10-0-1-5.ec2.internal|ip-10-0-1-5.ec2.internal>", "describe",
         Target("Pod", "ip-10-0-1-5.ec2.internal", "default"), "prod", {}),
        ("why-pending web-0 \u2014namespace shop", "why-pending", Target("Pod", "web-0", "shop"), "prod", {}),
    ],
    ids=[
        "pod-with-namespace", "options-first", "inline-option-and-po-prefix", "default-namespace",
        "deployment-and-cluster", "verb-case-and-sts", "node-is-cluster-scoped", "node-subdomain-name",
        "pvc", "params-for-a-verb", "run-with-target", "run-cluster-wide-with-param", "slack-autolink",
        "em-dash-option",
    ],
)
def test_commands_become_requests(
    text: str, runbook: str, target: Target | None, cluster: str, params: dict[str, str]
) -> None:
    parsed = parse(text)
    assert parsed.reply is None
    assert parsed.request is not None
    assert parsed.request.runbook == runbook
    assert parsed.request.target == target
    assert parsed.request.cluster == cluster
    assert parsed.request.params == params


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("frobnicate web-0", ["Unknown command `frobnicate`", "Usage: `/k8s <verb>"]),
        ("why-pendng web-0", ["Did you mean `why-pending`?"]),
        ("why-pending Web_0", ["Invalid pod name `Web_0`", "RFC 1123 subdomain",
                               "Usage: `/k8s why-pending POD|KIND/NAME [-n NAMESPACE] [-c CLUSTER]`"]),
        ("why-pending web-0 -n Shop", ["Invalid namespace name `Shop`", "RFC 1123 label", "why-pending POD"]),
        ("why-pending web-0 -n " + "a" * 64, ["Invalid namespace name", "at most 63"]),
        ("why-pending " + "a" * 254, ["Invalid pod name"]),
        ("why-pending", ["`why-pending` needs a target", "Usage: `/k8s why-pending"]),
        ("why-pending web-0 web-1", ["Unexpected argument `web-1`"]),
        ("why-pending node/n1", ["`why-pending` does not work on a Node", "Pod, Deployment, StatefulSet"]),
        ("why-pending shop/web-0", ["Unknown kind `shop`", "write `web-0 -n shop`"]),
        ("describe deploy/", ["Invalid deployment name ``"]),
        ("describe secret/db-password -n shop", ["does not work on a Secret"]),
        ("why-pending web-0 -n", ["Option `-n` needs a value"]),
        ("why-pending web-0 --force", ["Unknown option `--force`"]),
        ("why-pending 'web-0", ["Cannot read the command", "quotation"]),
        ("why-pending web-0 -c prod!", ["Invalid cluster name `prod!`"]),
        ("events web-0 lmit=5", ["Bad parameter", "no parameter 'lmit'", "limit"]),
        ("events web-0 limit=many", ["Bad parameter", "expected int"]),
        ("run", ["`run` needs the name of a runbook", "Usage: `/k8s run RUNBOOK"]),
        ("run node-presure", ["No runbook named `node-presure`", "Did you mean `node-pressure`?"]),
        ("run node-pressure web-0", ["`run node-pressure` works on the whole cluster and takes no target"]),
        ("runbooks extra", ["Unexpected argument `extra`"]),
        ("help frobnicate", ["No help for `frobnicate`"]),
        ("-n shop", ["No command given"]),
    ],
    ids=[
        "unknown-verb", "typo-suggests-verb", "invalid-pod-name", "invalid-namespace", "namespace-too-long",
        "name-too-long", "missing-target", "two-targets", "kind-not-accepted", "namespace-slash-name-hint",
        "empty-name", "secrets-refused", "option-without-value", "unknown-option", "unbalanced-quote",
        "invalid-cluster", "unknown-param", "param-wrong-type", "run-without-name", "run-unknown-runbook",
        "run-target-on-cluster-runbook", "runbooks-with-argument", "help-unknown-verb", "options-only",
    ],
)
def test_bad_commands_explain_and_show_usage(text: str, expected: list[str]) -> None:
    with pytest.raises(CommandError) as caught:
        parse(text)
    message = str(caught.value)
    for fragment in expected:
        assert fragment in message
    assert "Usage: `/k8s" in message


def test_unknown_cluster_is_refused_when_clusters_are_configured() -> None:
    with pytest.raises(CommandError, match=r"Unknown cluster `qa`.*prod, staging"):
        parse("why-pending web-0 -c qa", known_clusters=["prod", "staging"])
    parsed = parse("why-pending web-0 -c staging", known_clusters=["prod", "staging"])
    assert parsed.request is not None and parsed.request.cluster == "staging"


@pytest.mark.parametrize("verb", ["health", "triage", "etcd", "metrics"])
def test_verbs_without_a_runbook_answer_not_available(verb: str) -> None:
    parsed = parse(verb)
    assert parsed.request is None
    assert not parsed.ok
    assert parsed.reply == f"`/k8s {verb}` is not available yet in this clusterdoc version."


@pytest.mark.parametrize("verb", ["health", "triage", "etcd", "metrics"])
def test_cluster_wide_verbs_run_their_shipped_runbook(verb: str) -> None:
    parsed = parse_command(f"{verb} -c default", default_cluster="prod", catalogue=Catalogue.load())
    assert parsed.ok and parsed.request is not None
    assert parsed.request.runbook == verb and parsed.request.target is None


@pytest.mark.parametrize(("text", "query", "params"), [
    ("metrics etcd-fsync", "etcd-fsync", {}),
    ("metrics etcd range_minutes=30", "etcd", {"range_minutes": "30"}),
    ("""metrics 'histogram_quantile(0.99, rate(x_bucket{job="a"}[5m]))'""",
     'histogram_quantile(0.99, rate(x_bucket{job="a"}[5m]))', {}),
    ("metrics range_minutes=30", None, {"range_minutes": "30"}),
], ids=["preset", "layer-with-param", "promql", "params-only"])
def test_metrics_takes_a_preset_layer_or_promql(text: str, query: str | None, params: dict[str, str]) -> None:
    parsed = parse_command(text, default_cluster="prod", catalogue=Catalogue.load())
    assert parsed.request is not None
    expected = {**params, **({"query": query} if query else {})}
    assert parsed.request.params == expected


@pytest.mark.parametrize("text", ["help", "", "  "], ids=["help", "empty", "blank"])
def test_help_lists_every_verb(text: str) -> None:
    parsed = parse(text)
    assert parsed.request is None and parsed.ok and parsed.reply
    for verb in VERBS:
        assert f"`/k8s {verb.name}" in parsed.reply


def test_help_for_one_verb_gives_its_usage() -> None:
    parsed = parse("help why-pending")
    assert parsed.reply is not None
    assert "Usage: `/k8s why-pending POD|KIND/NAME [-n NAMESPACE] [-c CLUSTER]`" in parsed.reply


def test_runbooks_lists_names_and_titles() -> None:
    parsed = parse("runbooks")
    assert parsed.request is None and parsed.reply is not None
    assert "`why-pending` — Why is this pod Pending?" in parsed.reply
    assert "`node-pressure` — Node pressure" in parsed.reply


def test_request_round_trips_as_job_payload() -> None:
    parsed = parse("why-pending web-0 -n shop -c staging")
    assert parsed.request is not None
    from clusterdoc.queue import DiagnosisRequest

    assert DiagnosisRequest.from_json(parsed.request.to_json()) == parsed.request
    assert parsed.request.command == "why-pending web-0 -n shop -c staging"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("run describe deploy/api -n shop max_lines=5",
         "Bad parameter: max_lines=5 is not accepted by step describe of runbook describe: "
         "max_lines: Input should be greater than or equal to 10."),
        ("run events deploy/api -n shop events_limit=0",
         "Bad parameter: events_limit=0 is not accepted by step events of runbook events: "
         "limit: Input should be greater than or equal to 1."),
    ],
    ids=["describe-max-lines-too-small", "events-limit-zero"],
)
def test_parameters_the_steps_would_reject_are_refused_before_enqueueing(text: str, expected: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text, default_cluster="prod", catalogue=Catalogue.load([]))
    usage = "Usage: `/k8s run RUNBOOK [TARGET] [key=value ...] [-n NAMESPACE] [-c CLUSTER]`"
    assert str(caught.value) == f"{expected}\n{usage}"


def test_parameters_the_steps_accept_pass() -> None:
    parsed = parse_command("run describe deploy/api -n shop max_lines=15 pods=2", default_cluster="prod",
                           catalogue=Catalogue.load([]))
    assert parsed.request is not None
    assert parsed.request.params == {"max_lines": "15", "pods": "2"}


@pytest.mark.parametrize(
    ("text", "usage"),
    [
        ("describe deploy/api -n", "Usage: `/k8s describe POD|KIND/NAME [-n NAMESPACE] [-c CLUSTER]`"),
        ("-n shop why-pending web-0 --force", "Usage: `/k8s why-pending POD|KIND/NAME [-n NAMESPACE] [-c CLUSTER]`"),
        ("-c prod frobnicate -x", "Usage: `/k8s <verb> ...`"),
    ],
    ids=["missing-value-after-verb", "unknown-option-after-options", "unknown-verb-falls-back"],
)
def test_option_errors_show_the_usage_of_the_verb(text: str, usage: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse(text)
    assert str(caught.value).splitlines()[-1].startswith(usage)
