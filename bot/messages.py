"""Every text a person reads from the Slack side of clusterdoc, in one place.

Like Bolt's ``logger/messages.py``: listeners and the command parser call these functions
instead of formatting strings inline, so wording stays consistent and reviewable, and no
message can accidentally carry a secret or a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from clusterdoc import kinds
from clusterdoc.report import Target

COMMAND = "/k8s"
OPTIONS_USAGE = "[-n NAMESPACE] [-c CLUSTER]"

# -- usage and help ----------------------------------------------------------------------------


def usage_line(verb: str, arguments: str) -> str:
    """``Usage: /k8s why-pending POD|KIND/NAME [-n NAMESPACE] [-c CLUSTER]``."""
    parts = [COMMAND, verb, arguments, OPTIONS_USAGE if verb not in ("help", "runbooks") else ""]
    return "Usage: `" + " ".join(part for part in parts if part) + "`"


def general_usage(verbs: Iterable[str]) -> str:
    return f"Usage: `{COMMAND} <verb> ...` where verb is one of: {', '.join(verbs)}. Try `{COMMAND} help`."


def help_text(entries: Iterable[tuple[str, str, str]]) -> str:
    """The answer to ``/k8s help``: one line per verb (``entries`` is verb, arguments, summary)."""
    lines = [f"*{COMMAND}* diagnoses Kubernetes problems and answers in a thread. Commands:"]
    for verb, arguments, summary in entries:
        lines.append(f"• `{COMMAND} {verb}{' ' + arguments if arguments else ''}` — {summary}")
    lines.append(
        "Options anywhere: `-n/--namespace NS` (default `default`), `-c/--cluster NAME` "
        "(default: this channel's cluster). Targets: `NAME` (a pod) or `KIND/NAME` such as "
        "`deploy/web`, `sts/db`, `node/ip-10-0-1-5`, `pvc/data-db-0`."
    )
    return "\n".join(lines)


def verb_help(verb: str, arguments: str, summary: str) -> str:
    return f"`{COMMAND} {verb}` — {summary}\n{usage_line(verb, arguments)}"


def runbook_list(entries: Iterable[tuple[str, str]]) -> str:
    rows = [f"• `{name}` — {title}" for name, title in entries]
    if not rows:
        return "No runbooks are installed."
    return "Runbooks (run one with `/k8s run NAME [TARGET] [key=value ...]`):\n" + "\n".join(rows)


# -- command errors (each is followed by the usage line of the verb) ---------------------------


def empty_command() -> str:
    return "No command given."


def unknown_verb(verb: str, suggestion: str | None) -> str:
    hint = f" Did you mean `{suggestion}`?" if suggestion else ""
    return f"Unknown command `{verb}`.{hint}"


def unbalanced_quotes(detail: str) -> str:
    return f"Cannot read the command: {detail}."


def missing_option_value(option: str) -> str:
    return f"Option `{option}` needs a value."


def unknown_option(option: str) -> str:
    return f"Unknown option `{option}` (options are -n/--namespace and -c/--cluster)."


def missing_target(verb: str) -> str:
    return f"`{verb}` needs a target: a pod name or KIND/NAME."


def too_many_targets(extra: str) -> str:
    return f"Unexpected argument `{extra}`: give one target."


def takes_no_target(what: str, target: str) -> str:
    return f"`{what}` works on the whole cluster and takes no target (got `{target}`)."


def unknown_kind(kind: str, name: str, close_kind: str | None = None) -> str:
    """``deplo/web``: suggest the kind meant (``deploy/web``); a word like no kind may be a namespace."""
    if close_kind is not None:
        return f"Unknown kind `{kind}` in `{kind}/{name}`. Did you mean `{close_kind}/{name}`?"
    known = ", ".join(sorted({k.aliases[0] if k.aliases else k.plural for k in kinds.KINDS if k.kind != "Secret"}))
    text = f"Unknown kind `{kind}` in `{kind}/{name}` (known: {known})."
    if "." not in kind:
        text += f" To name a pod in namespace {kind}, write `{name} -n {kind}`."
    return text


def wrong_kind(what: str, kind: str, accepted: Iterable[str]) -> str:
    return f"`{what}` does not work on a {kind}; it takes {', '.join(accepted)}."


def invalid_name(what: str, value: str, rule: str) -> str:
    return f"Invalid {what} `{value}`: {rule}."


def params_not_expected(argument: str) -> str:
    return f"Unexpected `{argument}`: key=value parameters go with `{COMMAND} run RUNBOOK ...`."


def bad_parameter(problem: str) -> str:
    return f"Bad parameter: {problem}."


def missing_runbook_name() -> str:
    return "`run` needs the name of a runbook (see `/k8s runbooks`)."


def unknown_runbook(name: str, suggestions: list[str]) -> str:
    hint = f" Did you mean {', '.join(f'`{s}`' for s in suggestions)}?" if suggestions else ""
    return f"No runbook named `{name}`.{hint} `{COMMAND} runbooks` lists them."


def unknown_cluster(name: str, known: Iterable[str]) -> str:
    return f"Unknown cluster `{name}` (configured clusters: {', '.join(known)})."


def help_unknown_verb(verb: str) -> str:
    return f"No help for `{verb}`: it is not a command."


def with_usage(problem: str, usage: str) -> str:
    """A command error as the user sees it: the problem, then the usage line."""
    return f"{problem}\n{usage}"


def not_available(verb: str) -> str:
    return f"`{COMMAND} {verb}` is not available yet in this clusterdoc version."


# -- the thread ---------------------------------------------------------------------------------


def target_label(target: Target | None) -> str:
    """``shop/web-0`` for a pod, ``deploy/web in shop``, ``node/ip-10-0-1-5``, ``the cluster``."""
    if target is None:
        return "the cluster"
    if target.kind == "Pod":
        return target.ref()
    kind = kinds.lookup(target.kind)
    short = kind.aliases[0] if kind and kind.aliases else target.kind.lower()
    where = f" in {target.namespace}" if target.namespace else ""
    return f"{short}/{target.name}{where}"


def root_text(runbook: str, target: Target | None, user_id: str, cluster: str) -> str:
    """The thread's root: ``why-pending shop/web-0, asked by <@U123> · cluster prod``."""
    return f"{runbook} {target_label(target)}, asked by <@{user_id}> · cluster {cluster}"


def root_working(job_id: str) -> str:
    return f"working on it… (job {job_id})"


def root_no_worker(job_id: str, queue: str) -> str:
    return f"queued as job {job_id}, but no worker is listening on `{queue}` right now; it will run when one starts"


def root_queue_failed() -> str:
    return "could not queue the diagnosis: the job queue is unreachable"


def queue_unreachable(runbook: str, target: Target | None) -> str:
    return (
        f"Sorry, I could not start `{runbook}` for {target_label(target)}: the job queue (Redis) is "
        "unreachable. Nothing was queued; please try again in a minute, and tell whoever runs clusterdoc."
    )


def cannot_post_root(error: str, channel: str) -> str:
    if error in ("not_in_channel", "channel_not_found"):
        return (
            f"I cannot post in this channel ({error}). Invite me with `/invite @clusterdoc` and try again; "
            "nothing was queued."
        )
    if error == "is_archived":
        return "This channel is archived, so I cannot start a thread here; nothing was queued."
    return f"I could not start a thread in this channel (Slack said `{error}`); nothing was queued."


def internal_error(error_id: str) -> str:
    return f"Something went wrong on my side (error id `{error_id}`); nothing was queued."


# -- the process (start-up lines on stderr) ------------------------------------------------------


def serve_started(host: str, port: int, *, socket_mode: bool, redis: str, cluster: str) -> str:
    """The one line ``clusterdoc serve`` prints once it is up (never a token or a password)."""
    mode = "Socket Mode (Slack traffic over the websocket)" if socket_mode else "HTTP (/slack/events)"
    return (f"clusterdoc serve: listening on http://{host}:{port} · mode {mode} · redis {redis} · "
            f"default cluster {cluster} · probes /healthz /readyz /metrics, alerts /alerts")


def slack_unreachable(base_url: str, reason: str, url_was_set: bool) -> str:
    """Slack gave no answer at start-up; names the URL tried, and SLACK_API_URL only when it was set."""
    if url_was_set:
        return f"SLACK_API_URL: cannot reach Slack at {base_url} to check SLACK_BOT_TOKEN ({reason})"
    return (f"cannot reach Slack at {base_url} to check SLACK_BOT_TOKEN ({reason}); check this host's "
            "network access (or proxy) to Slack")


@contextmanager
def quiet_loggers(*names: str) -> Iterator[None]:
    """Silence libraries' own ERROR lines for a call whose failure we report in one line ourselves."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
