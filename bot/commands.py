"""The ``/k8s`` command language: text in, a :class:`ParsedCommand` out (pure Python, no Slack).

``why-pending web-0 -n shop`` becomes a :class:`~clusterdoc.queue.DiagnosisRequest` for the
``why-pending`` runbook; ``help`` and ``runbooks`` become an immediate reply; anything wrong
raises :class:`CommandError` whose text names the problem and ends with the usage line of the
verb, so nothing bad is ever enqueued. Object names are checked with the same rules the API
server applies (DNS-1123 subdomain / label, DNS-1035 label), quoted from
``k8s.io/apimachinery/pkg/util/validation/validation.go`` (Kubernetes 1.30).
"""

from __future__ import annotations

import difflib
import html
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from clusterdoc import kinds
from clusterdoc.bot import messages
from clusterdoc.queue import DiagnosisRequest, refusal
from clusterdoc.report import Target
from clusterdoc.workers.runbook.engine import run_parameters
from clusterdoc.workers.runbook.loader import Runbook, resolve_step_params
from clusterdoc.workers.runbook.registry import STEPS, load_builtin_steps
from clusterdoc.workers.runbook.schema import error_lines

DEFAULT_NAMESPACE = "default"

# k8s.io/apimachinery/pkg/util/validation/validation.go (v0.30)
DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = re.compile(f"^{_LABEL}$")
DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
DNS1035_LABEL = re.compile("^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_LABEL_RULE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name', or '123-abc'), at most 63 characters"
)
DNS1123_SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'example.com'), at most 253 characters"
)
DNS1035_LABEL_RULE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123'), "
    "at most 63 characters"
)
CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
CLUSTER_RULE = "a cluster name is letters, digits, '-', '_' or '.' (at most 63 characters)"
PARAM_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_PARAM_VALUE = 256
MAX_COMMAND_CHARS = 2000
"""Longer /k8s texts are refused before any parsing (a 1 MB text used to cost seconds of CPU)."""

#: Kinds whose names are DNS-1123 labels or DNS-1035 labels; every other kind uses subdomains.
LABEL_NAMED_KINDS = frozenset({"Namespace"})
DNS1035_NAMED_KINDS = frozenset({"Service"})

TargetRule = Literal["required", "optional", "none"]


@dataclass(frozen=True)
class Verb:
    """One ``/k8s`` verb: which runbook it runs and how its arguments read."""

    name: str
    runbook: str | None
    arguments: str
    summary: str
    target: TargetRule = "required"

    @property
    def usage(self) -> str:
        return messages.usage_line(self.name, self.arguments)


TARGET_ARGS = "POD|KIND/NAME"
VERBS: tuple[Verb, ...] = (
    Verb("why-pending", "why-pending", TARGET_ARGS, "why a pod (or a workload's pods) is not scheduled"),
    Verb("describe", "describe", TARGET_ARGS, "status, conditions, containers and owners of an object"),
    Verb("events", "events", TARGET_ARGS, "recent events of an object (and of a workload's pods)"),
    Verb("health", "health", "", "quick check: nodes, Pending pods, API server latency, etcd; names the bad layer",
         "none"),
    Verb("triage", "triage", "", "which layer is broken (API server, etcd, controller manager, scheduler, nodes) "
         "and the evidence", "none"),
    Verb("etcd", "etcd", "", "etcd members, leader, database size and latency", "none"),
    Verb("metrics", "metrics", "[PRESET|LAYER|'PROMQL']",
         "Prometheus signals against their thresholds: a preset (etcd-fsync...), a layer, or quoted PromQL", "none"),
    Verb("run", None, "RUNBOOK [TARGET] [key=value ...]", "run any runbook, with parameters"),
    Verb("runbooks", None, "", "list the installed runbooks", "none"),
    Verb("audit", None, "[N]", "the latest N approval decisions (default 10): who approved what, and the outcome",
         "optional"),
    Verb("help", None, "[VERB]", "this help, or the usage of one verb", "optional"),
)
VERB_BY_NAME = {verb.name: verb for verb in VERBS}
GENERAL_USAGE = messages.general_usage(VERB_BY_NAME)


class CatalogueLike(Protocol):
    """What the parser needs from :class:`clusterdoc.workers.runbook.loader.Catalogue`."""

    def get(self, name: str) -> Runbook | None: ...

    def names(self) -> list[str]: ...


class CommandError(Exception):
    """A command that cannot run; ``str()`` is the problem followed by the verb's usage line."""

    def __init__(self, problem: str, usage: str = GENERAL_USAGE) -> None:
        self.problem, self.usage = problem, usage
        super().__init__(messages.with_usage(problem, usage))


@dataclass(frozen=True)
class ParsedCommand:
    """Either a request to enqueue, or a reply to give at once (help, runbooks, not available).

    ``ok`` is False for a reply that means the command did not run (a verb not available yet).
    """

    verb: str
    request: DiagnosisRequest | None = None
    reply: str | None = None
    ok: bool = True
    audit_count: int = 0
    """For ``audit``: how many entries to show (the app reads them from Redis)."""


@dataclass
class _Words:
    """The command split into positional words and its options."""

    positional: list[str]
    namespace: str | None = None
    cluster: str | None = None


# -- tokenising ----------------------------------------------------------------------------------

_SLACK_LINK = re.compile(r"<([^<>|]*)\|([^<>]*)>|<([^<>|]*)>")
_DASHES = {"\u2014": "--", "\u2013": "--"}  # Slack clients turn -- into an em or en dash


def _unslack(text: str) -> str:
    """Undo what Slack does to typed text: ``<http://a.b|a.b>`` links and ``&amp;`` escapes."""

    def label(match: re.Match[str]) -> str:
        if match.group(2) is not None:
            return match.group(2)
        inner = match.group(3) or ""
        return re.sub(r"^(https?|mailto):(//)?", "", inner)

    return html.unescape(_SLACK_LINK.sub(label, text))


def _split(text: str, usage: str) -> list[str]:
    try:
        words = shlex.split(_unslack(text))
    except ValueError as exc:
        raise CommandError(messages.unbalanced_quotes(str(exc).lower()), usage) from exc
    fixed = []
    for word in words:
        for dash, replacement in _DASHES.items():
            if word.startswith(dash):
                word = replacement + word[len(dash):]
        fixed.append(word)
    return fixed


def _read_options(words: list[str], usage: str) -> _Words:
    result = _Words(positional=[])
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if not word.startswith("-") or word == "-":
            result.positional.append(word)
            continue
        option, _, inline = word.partition("=")
        if option in ("-n", "--namespace"):
            field = "namespace"
        elif option in ("-c", "--cluster"):
            field = "cluster"
        else:
            raise CommandError(messages.unknown_option(word), usage)
        if inline:
            value = inline
        elif index < len(words) and not words[index].startswith("-"):
            value = words[index]
            index += 1
        else:
            raise CommandError(messages.missing_option_value(option), usage)
        setattr(result, field, value)
    return result


# -- validation ----------------------------------------------------------------------------------


def validate_name(kind: str, name: str, usage: str = GENERAL_USAGE) -> None:
    """Raise :class:`CommandError` unless ``name`` is a valid name for objects of ``kind``."""
    what = f"{kind.lower()} name"
    if kind in LABEL_NAMED_KINDS:
        ok, rule = len(name) <= DNS1123_LABEL_MAX and DNS1123_LABEL.match(name), DNS1123_LABEL_RULE
    elif kind in DNS1035_NAMED_KINDS:
        ok, rule = len(name) <= DNS1123_LABEL_MAX and DNS1035_LABEL.match(name), DNS1035_LABEL_RULE
    else:
        ok, rule = len(name) <= DNS1123_SUBDOMAIN_MAX and DNS1123_SUBDOMAIN.match(name), DNS1123_SUBDOMAIN_RULE
    if not ok:
        raise CommandError(messages.invalid_name(what, name, rule), usage)


def close_kind(word: str) -> str | None:
    """The kubectl spelling of the kind ``word`` was probably meant to be (``deplo`` → ``deploy``)."""
    spellings: dict[str, str] = {}
    for kind in kinds.KINDS:
        if kind.kind in kinds.NEVER_READ_KINDS:
            continue
        short = kind.aliases[0] if kind.aliases else kind.plural
        for spelling in (kind.kind.lower(), kind.plural, *kind.aliases):
            if len(spelling) >= 4:  # `prod/web` is more likely namespace prod than a mistyped `pod`
                spellings.setdefault(spelling, short)
    found = difflib.get_close_matches(word.lower(), list(spellings), n=1, cutoff=0.8)
    return spellings[found[0]] if found else None


def _target(word: str, namespace: str | None, usage: str) -> Target:
    kind_word, slash, name = word.partition("/")
    if not slash:
        kind_word, name = "pod", word
    kind = kinds.lookup(kind_word)
    if kind is None or not name or "/" in name:
        if kind is None:
            raise CommandError(messages.unknown_kind(kind_word, name, close_kind(kind_word)), usage)
        raise CommandError(messages.invalid_name(f"{kind.kind.lower()} name", name, DNS1123_SUBDOMAIN_RULE), usage)
    if refusal(kind.kind) is not None:
        raise CommandError(messages.wrong_kind("/k8s", kind.kind, ["pods, workloads, nodes and volumes"]), usage)
    validate_name(kind.kind, name, usage)
    if not kind.namespaced:
        return Target(kind.kind, name, None)
    return Target(kind.kind, name, namespace or DEFAULT_NAMESPACE)


def _params(words: list[str], usage: str) -> tuple[list[str], dict[str, str]]:
    positional, params = [], {}
    for word in words:
        key, equals, value = word.partition("=")
        if not equals:
            positional.append(word)
            continue
        if not PARAM_KEY.match(key):
            raise CommandError(messages.bad_parameter(f"`{word}` is not key=value"), usage)
        if len(value) > MAX_PARAM_VALUE:
            raise CommandError(messages.bad_parameter(f"the value of {key} is longer than {MAX_PARAM_VALUE}"), usage)
        params[key] = value
    return positional, params


def _metrics_query(args: list[str]) -> str | None:
    """The preset, layer or PromQL after ``/k8s metrics`` (None when the first word is a ``key=value``)."""
    if not args:
        return None
    key, equals, _ = args[0].partition("=")
    return None if equals and PARAM_KEY.match(key) else args[0]


def _check_parameters(runbook: Runbook, overrides: dict[str, str], usage: str) -> None:
    """Type each ``key=value`` like the runbook's default, then check every step accepts the result.

    A value the runbook's steps would reject (``max_lines=5`` where a step needs at least 10) is
    refused here, before anything is enqueued, naming the parameter and the step's rule.
    """
    try:
        params: dict[str, Any] = run_parameters(runbook, overrides)
    except ValueError as exc:
        raise CommandError(messages.bad_parameter(str(exc)), usage) from exc
    if not overrides:
        return
    load_builtin_steps()
    for step_spec in runbook.spec.steps:
        kind = STEPS.get(step_spec.kind)
        if kind is None:
            continue
        try:
            kind.params.model_validate(resolve_step_params(step_spec.with_, params))
        except ValidationError as exc:
            given = ", ".join(f"{key}={value}" for key, value in overrides.items())
            problem = f"{given} is not accepted by step {step_spec.step_id} of runbook {runbook.name}: "
            raise CommandError(messages.bad_parameter(problem + "; ".join(error_lines(exc))), usage) from exc


def _cluster(explicit: str | None, default: str, known: Iterable[str], usage: str) -> str:
    if explicit is None:
        return default
    if not CLUSTER_NAME.match(explicit):
        raise CommandError(messages.invalid_name("cluster name", explicit, CLUSTER_RULE), usage)
    known = list(known)
    if known and explicit not in known:
        raise CommandError(messages.unknown_cluster(explicit, known), usage)
    return explicit


# -- the parser ----------------------------------------------------------------------------------


def _help(args: list[str]) -> ParsedCommand:
    if not args:
        entries = [(verb.name, verb.arguments, verb.summary) for verb in VERBS]
        return ParsedCommand("help", reply=messages.help_text(entries))
    verb = VERB_BY_NAME.get(args[0])
    if verb is None or len(args) > 1:
        problem = messages.help_unknown_verb(args[0]) if verb is None else messages.too_many_targets(args[1])
        raise CommandError(problem, VERB_BY_NAME["help"].usage)
    return ParsedCommand("help", reply=messages.verb_help(verb.name, verb.arguments, verb.summary))


def _runbooks(catalogue: CatalogueLike) -> ParsedCommand:
    entries = []
    for name in catalogue.names():
        runbook = catalogue.get(name)
        entries.append((name, runbook.spec.title if runbook else ""))
    return ParsedCommand("runbooks", reply=messages.runbook_list(entries))


def _audit(args: list[str], usage: str) -> ParsedCommand:
    if len(args) > 1:
        raise CommandError(messages.too_many_targets(args[1]), usage)
    if args and not (args[0].isdigit() and 1 <= int(args[0]) <= 50):
        raise CommandError(f"N must be a number from 1 to 50, not {args[0]!r}.", usage)
    return ParsedCommand("audit", audit_count=int(args[0]) if args else 10)


def _check_target_kind(what: str, runbook: Runbook, target: Target | None, usage: str) -> None:
    accepted = runbook.spec.targets
    if target is not None and accepted and target.kind not in accepted:
        raise CommandError(messages.wrong_kind(what, target.kind, accepted), usage)


def _usage_of_first_verb(words: list[str]) -> str:
    """The usage line of the verb the words start with (options aside), else the general one."""
    skip = False
    for word in words:
        if skip or word.startswith("-"):
            skip = word in ("-n", "--namespace", "-c", "--cluster")  # the next word is the option's value
            continue
        verb = VERB_BY_NAME.get(word.lower())
        return verb.usage if verb else GENERAL_USAGE
    return GENERAL_USAGE


def _empty(words: _Words) -> ParsedCommand:
    """No verb: ``/k8s`` alone is help; ``/k8s -n shop`` is a mistake."""
    if words.namespace is None and words.cluster is None:
        return _help([])
    raise CommandError(messages.empty_command())


def _verb(word: str) -> Verb:
    verb = VERB_BY_NAME.get(word.lower())
    if verb is None:
        suggestion = difflib.get_close_matches(word.lower(), list(VERB_BY_NAME), n=1, cutoff=0.6)
        raise CommandError(messages.unknown_verb(word, suggestion[0] if suggestion else None))
    return verb


def _answered_at_once(verb: Verb, args: list[str], catalogue: CatalogueLike) -> ParsedCommand | None:
    """The verbs answered without a job (help, runbooks, audit); None for the others."""
    if verb.name == "help":
        return _help(args)
    if verb.name == "runbooks":
        if args:
            raise CommandError(messages.too_many_targets(args[0]), verb.usage)
        return _runbooks(catalogue)
    if verb.name == "audit":
        return _audit(args, verb.usage)
    return None


def _runbook_of(verb: Verb, args: list[str], catalogue: CatalogueLike) -> tuple[Runbook, TargetRule, list[str]] | None:
    """The runbook ``verb`` runs, its target rule and the arguments left; None when not installed."""
    if verb.name != "run":
        assert verb.runbook is not None
        found = catalogue.get(verb.runbook)
        return (found, verb.target, args) if found is not None else None
    if not args:
        raise CommandError(messages.missing_runbook_name(), verb.usage)
    runbook_name, *rest = args
    runbook = catalogue.get(runbook_name)
    if runbook is None:
        close = difflib.get_close_matches(runbook_name, catalogue.names(), n=3, cutoff=0.6)
        raise CommandError(messages.unknown_runbook(runbook_name, close), verb.usage)
    return runbook, ("required" if runbook.spec.targets else "none"), rest


def _target_of(verb: Verb, runbook: Runbook, rule: TargetRule, args: list[str], namespace: str | None) -> Target | None:
    """The one target the arguments name, checked against the rule and the runbook's kinds."""
    usage = verb.usage
    if len(args) > 1:
        raise CommandError(messages.too_many_targets(args[1]), usage)
    if args and rule == "none":
        what = f"run {runbook.name}" if verb.name == "run" else verb.name
        raise CommandError(messages.takes_no_target(what, args[0]), usage)
    if not args and rule == "required":
        raise CommandError(messages.missing_target(verb.name), usage)
    if namespace is not None:
        validate_name("Namespace", namespace, usage)
    target = _target(args[0], namespace, usage) if args else None
    _check_target_kind(verb.name, runbook, target, usage)
    return target


def parse_command(
    text: str,
    *,
    default_cluster: str,
    catalogue: CatalogueLike,
    known_clusters: Iterable[str] = (),
) -> ParsedCommand:
    """Parse the text after ``/k8s``; :class:`CommandError` when it cannot run.

    ``default_cluster`` is the channel's cluster (or ``CLUSTERDOC_CLUSTER``); ``-c`` overrides
    it and, when ``known_clusters`` is not empty, must name one of them. Reading (words and
    options), deciding (verb, runbook, target, parameters, cluster) and wording (:mod:`messages`)
    are separate functions; this one only puts them in order.
    """
    if len(text) > MAX_COMMAND_CHARS:
        raise CommandError(f"The command is {len(text)} characters long; the limit is {MAX_COMMAND_CHARS}.")
    split = _split(text, GENERAL_USAGE)
    words = _read_options(split, _usage_of_first_verb(split))
    if not words.positional:
        return _empty(words)
    verb_word, *args = words.positional
    verb = _verb(verb_word)
    answered = _answered_at_once(verb, args, catalogue)
    if answered is not None:
        return answered
    query = _metrics_query(args) if verb.name == "metrics" else None
    if query is not None:
        args = args[1:]
    args, params = _params(args, verb.usage)
    if query is not None:
        params["query"] = query
    chosen = _runbook_of(verb, args, catalogue)
    if chosen is None:
        return ParsedCommand(verb.name, reply=messages.not_available(verb.name), ok=False)
    runbook, rule, args = chosen
    target = _target_of(verb, runbook, rule, args, words.namespace)
    _check_parameters(runbook, params, verb.usage)
    cluster = _cluster(words.cluster, default_cluster, known_clusters, verb.usage)
    request = DiagnosisRequest(
        verb=verb.name,
        runbook=runbook.name,
        target=target,
        cluster=cluster,
        params=params,
        command=" ".join(shlex.quote(word) for word in _split(text, verb.usage)),
    )
    return ParsedCommand(verb.name, request=request)
