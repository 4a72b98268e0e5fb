"""The ``clusterdoc`` command: serve, worker, ask, demo, runbooks, scheduling.

This is the process wiring DESIGN.md describes: it reads the settings a command uses (and only
those), opens the cluster, loads the runbook catalogue and hands Slack publishing to the worker.
Every error a person can cause (a bad setting, a broken runbook, a bad command or option, a
closed pipe) prints one line on stderr and exits non-zero; nothing prints a traceback.

Exit statuses: 0 the command ran; 1 it ran but found nothing to diagnose (``ask`` for an object
that does not exist) or found problems (``runbooks validate``); 2 a usage or configuration error;
130 interrupted. Imports are lazy: ``clusterdoc --help`` loads neither pydantic nor the Slack
SDK, and ``ask --snapshot`` never loads the kubernetes client.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from clusterdoc.config import Settings
    from clusterdoc.report import Report
    from clusterdoc.workers.runbook.loader import Catalogue

EXIT_OK = 0
EXIT_NOTHING_FOUND = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70  # EX_SOFTWARE
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell tool killed by `| head` reports

#: The same rule ``CLUSTERDOC_CLUSTER`` and ``/k8s -c`` apply.
CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
CLUSTER_RULE = "a cluster name is letters, digits, '-', '_' or '.' (at most 63 characters)"

#: Settings each command reads; nothing else in the environment is validated for it.
SERVE_SETTINGS = None  # every setting: serve and worker use nearly all of them
ASK_SETTINGS = ("CLUSTERDOC_CLUSTER", "CLUSTERDOC_RUNBOOKS", "CLUSTERDOC_SNAPSHOT", "KUBECONFIG",
                "PROMETHEUS_URL", "ETCD_ENDPOINTS", "ETCD_CACERT", "ETCD_CERT", "ETCD_KEY")
RUNBOOK_SETTINGS = ("CLUSTERDOC_RUNBOOKS",)
NO_SETTINGS: tuple[str, ...] = ()

#: Findings from these pseudo-steps mean the runbook did not run at all (no target, bad input).
NOT_RUN_STEPS = frozenset({"target", "params", "runbook"})


class UserError(Exception):
    """Something the person running the command can fix; ``str()`` is the one line to print."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


def _fail(message: str, status: int = EXIT_USAGE) -> int:
    print(f"clusterdoc: {message}", file=sys.stderr)
    return status


# -- settings -----------------------------------------------------------------------------------


def _settings(names: Iterable[str] | None) -> Settings:
    """Validated settings; with ``names``, only those variables are read (the rest keep defaults)."""
    from clusterdoc.config import load_settings

    if names is None:
        return load_settings()
    return load_settings(names=names)


def _catalogue(folders: Sequence[Path] = ()) -> Catalogue:
    from clusterdoc.workers.runbook.loader import Catalogue

    return Catalogue.load(list(folders))


# -- argument types (argparse turns their ValueError/ArgumentTypeError into one line) -----------


def port_number(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535)")
    return port


def cluster_name(value: str) -> str:
    if not CLUSTER_NAME.match(value):
        raise argparse.ArgumentTypeError(f"{value!r}: {CLUSTER_RULE}")
    return value


def timestamp(value: str) -> datetime:
    """``--now``: an ISO 8601 time (``2024-11-05T14:32:10Z``); a bare time is read as UTC."""
    from clusterdoc.humanize import parse_time

    parsed = parse_time(value)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO 8601 time such as 2024-11-05T14:32:10Z")
    return parsed


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the problem and where to read more)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


# -- ask / demo ---------------------------------------------------------------------------------


def terminal_width(wide: bool = False) -> int:
    """The width to wrap at: the terminal's (``COLUMNS`` wins), 100 when not a terminal; huge for ``--wide``."""
    import shutil

    from clusterdoc.render.terminal import WIDE

    if wide:
        return WIDE
    return shutil.get_terminal_size((100, 24)).columns


def _open_cluster(name: str, snapshot: str | None, kubeconfig: str | None) -> Any:
    """A snapshot without loading the kubernetes client; else the live cluster."""
    from clusterdoc.workers.cluster.base import ClusterError

    try:
        if snapshot:
            from clusterdoc.workers.cluster.snapshot import SnapshotCluster

            return SnapshotCluster.from_path(snapshot, name)
        from clusterdoc.workers.cluster.factory import open_cluster

        return open_cluster(name, kubeconfig=kubeconfig)
    except ClusterError as exc:
        raise UserError(str(exc)) from exc


def diagnose(
    command: str,
    *,
    catalogue: Catalogue,
    default_cluster: str = "default",
    snapshot: str | None = None,
    kubeconfig: str | None = None,
    now: datetime | None = None,
) -> Report:
    """Run one /k8s command in-process and return its report.

    :class:`UserError` for a command that cannot run (its text is the parser's problem and usage
    line), or a reply given without a job (help, runbooks: status 0).
    """
    from clusterdoc.bot.commands import CommandError, parse_command

    try:
        parsed = parse_command(command, default_cluster=default_cluster, catalogue=catalogue)
    except CommandError as exc:
        raise UserError(str(exc)) from exc
    if parsed.verb == "audit":
        raise UserError("`audit` reads the approval log kept in Redis: ask `/k8s audit` in Slack")
    if parsed.request is None:  # help, runbooks, not available yet: answered without a job
        raise UserError(parsed.reply or "", EXIT_OK if parsed.ok else EXIT_USAGE)
    cluster = _open_cluster(parsed.request.cluster, snapshot, kubeconfig)
    if now is None:
        store = getattr(cluster, "store", None)
        now = store.taken_at() if store is not None else None
    from clusterdoc.workers.runbook.engine import run_request

    return run_request(catalogue, parsed.request, cluster, now=now)


def report_status(report: Report) -> int:
    """1 when the runbook could not run (target not found, refused, unreadable), else 0."""
    if report.findings and all(finding.step in NOT_RUN_STEPS for finding in report.findings):
        return EXIT_NOTHING_FOUND
    return EXIT_OK


def _render(report: Report, as_json: bool, width: int) -> str:
    if as_json:
        from clusterdoc.render.json_report import render_json

        return render_json(report)
    from clusterdoc.render.terminal import render_terminal

    return render_terminal(report, width=width)


def run_ask(
    command: str,
    *,
    settings: Settings,
    snapshot: str | None,
    as_json: bool,
    now: datetime | None = None,
    width: int = 100,
) -> tuple[int, str]:
    """Run one /k8s command in-process; returns (exit status, text to print)."""
    try:
        report = diagnose(
            command,
            catalogue=_catalogue(settings.runbook_folders()),
            default_cluster=settings.CLUSTERDOC_CLUSTER,
            snapshot=snapshot or settings.CLUSTERDOC_SNAPSHOT,
            kubeconfig=settings.KUBECONFIG,
            now=now,
        )
    except UserError as exc:
        return exc.status, str(exc)
    return report_status(report), _render(report, as_json, width)


def cmd_ask(args: argparse.Namespace) -> int:
    settings = _settings(ASK_SETTINGS if not args.snapshot else (*RUNBOOK_SETTINGS, "CLUSTERDOC_CLUSTER"))
    status, text = run_ask(args.command, settings=settings, snapshot=args.snapshot, as_json=args.json,
                           now=args.now, width=terminal_width(args.wide))
    if status == EXIT_USAGE:  # the parser's problem and the verb's usage line, as one line
        print(f"clusterdoc: {' '.join(text.split())}", file=sys.stderr)
    else:
        print(text)
    return status


def _scenarios() -> tuple[Path, list[dict[str, Any]]]:
    from importlib import resources

    import yaml

    root = Path(str(resources.files("clusterdoc.examples")))
    data = yaml.safe_load((root / "scenarios.yaml").read_text(encoding="utf-8"))
    return root, list(data or [])


def cmd_demo(args: argparse.Namespace) -> int:
    """The bundled scenarios, built-in runbooks only: needs no settings at all.

    With ``--json`` it prints ONE JSON array, an object per scenario:
    ``{"scenario", "title", "command", "snapshot", "report"}`` (``report`` is the ``ask --json`` report).
    """
    from clusterdoc.humanize import parse_time

    root, scenarios = _scenarios()
    if args.scenario:
        scenarios = [s for s in scenarios if s["name"] == args.scenario]
        if not scenarios:
            names = ", ".join(s["name"] for s in _scenarios()[1])
            return _fail(f"no demo scenario named {args.scenario!r} (scenarios: {names})")
    catalogue = _catalogue()
    width = terminal_width(args.wide)
    worst, results = EXIT_OK, []
    for index, scenario in enumerate(scenarios):
        snapshot = root / scenario["snapshot"]
        try:
            report = diagnose(scenario["command"], catalogue=catalogue, default_cluster="demo",
                              snapshot=str(snapshot), now=parse_time(scenario.get("now")))
        except UserError as exc:  # a broken bundled scenario: say which
            return _fail(f"demo scenario {scenario['name']}: {exc}")
        worst = max(worst, report_status(report))
        if args.json:
            from clusterdoc.render.json_report import report_dict

            results.append({"scenario": scenario["name"], "title": scenario["title"],
                            "command": scenario["command"], "snapshot": f"examples/{scenario['snapshot']}",
                            "report": report_dict(report)})
            continue
        if index:
            print()
        print(f"━━ {scenario['title']} ━━")
        print(f"$ /k8s {scenario['command']}    (snapshot: examples/{scenario['snapshot']})")
        print()
        print(_render(report, False, width))
    if args.json:
        from clusterdoc.render.json_report import dumps

        print(dumps(results))
    return worst


# -- runbooks / scheduling ----------------------------------------------------------------------


def cmd_runbooks(args: argparse.Namespace) -> int:
    from clusterdoc.workers.runbook import loader

    settings = _settings(RUNBOOK_SETTINGS)
    if args.action == "list":
        catalogue = _catalogue(settings.runbook_folders())
        for name in catalogue.names():
            runbook = catalogue.runbooks[name]
            spec = runbook.spec
            targets = ", ".join(spec.targets) or "cluster"
            steps = " → ".join(step.step_id for step in spec.steps)
            origin = "built-in" if runbook.builtin else str(runbook.path)
            print(f"{name:<16} {spec.title}\n{'':<16} targets: {targets}; steps: {steps}\n{'':<16} from: {origin}")
        return EXIT_OK
    paths = [Path(p) for p in args.paths] or None
    result = loader.validate(paths, settings.runbook_folders())
    for line in result.warnings:
        print(f"warning: {line}", file=sys.stderr)
    for line in result.problems:
        print(line, file=sys.stderr)
    if result.problems:
        print(f"{len(result.problems)} problem(s) found", file=sys.stderr)
        return EXIT_NOTHING_FOUND
    print(f"{result.checked} runbook(s) valid")
    return EXIT_OK


def cmd_scheduling(args: argparse.Namespace) -> int:
    import json

    from clusterdoc.workers.scheduling.message import parse

    data = parse(args.message).to_json()
    if args.json:
        print(json.dumps(data, indent=2))
        return EXIT_OK
    total = data.get("total_nodes")
    print(f"total nodes: {total if total is not None else 'unknown (not a per-node message)'}")
    for reason in data.get("reasons") or []:
        extra = f" ({reason['resource']})" if reason.get("resource") else ""
        nodes = reason.get("nodes")
        count = f"{nodes:>5}" if nodes is not None else "    -"
        print(f"  {count}  {reason.get('category', 'other')}{extra}: {reason.get('detail') or ''}")
    for text in data.get("unplaced") or []:
        print(f"  not placed (raw text kept): {text}")
    for key, value in data.items():
        if key not in ("total_nodes", "reasons", "unplaced") and value not in (None, [], {}, ""):
            print(f"{key.replace('_', ' ')}: {json.dumps(value) if not isinstance(value, str) else value}")
    return EXIT_OK


# -- processes ----------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(SERVE_SETTINGS)
    port = args.port or settings.PORT
    if not 1 <= port <= 65535:
        raise UserError(f"PORT: {port} is not a port number (1-65535)")
    _catalogue(settings.runbook_folders())  # a broken runbook stops start-up here, with the file named
    _check_can_listen(args.host, port)
    from clusterdoc.bot.server import serve

    return serve(settings, host=args.host, port=port) or EXIT_OK


def _check_can_listen(host: str, port: int) -> None:
    """One line now, rather than the HTTP server's own error after start-up, when ``host:port`` is taken
    (another ``clusterdoc serve``?) or not an address of this machine."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UserError(f"--host {host}: {exc.strerror}") from exc
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind(address)
        except OSError as exc:
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def cmd_worker(args: argparse.Namespace) -> int:
    settings = _settings(SERVE_SETTINGS)
    port = args.metrics_port if args.metrics_port is not None else os.environ.get("CLUSTERDOC_METRICS_PORT")
    if port is not None and not (str(port).isdigit() and 0 < int(port) < 65536):
        raise UserError(f"CLUSTERDOC_METRICS_PORT: must be a port number, got {port!r}")
    if not args.burst:  # RQ forks a child per job: count its metrics in files the parent adds up
        import tempfile

        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="clusterdoc-metrics-"))
    from clusterdoc.workers.process import run_worker

    return run_worker(settings, args.cluster, args.burst, metrics_port=int(port) if port else None) or EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="clusterdoc", description="Kubernetes incident assistant for Slack.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    serve = sub.add_parser("serve", help="run the Slack app (HTTP, or Socket Mode with SLACK_APP_TOKEN)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=port_number, default=None, help="1-65535; default $PORT or 3000")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run a diagnostic worker for one cluster's queue")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.add_argument("--cluster", type=cluster_name, default=None, help="default $CLUSTERDOC_CLUSTER")
    worker.add_argument("--metrics-port", type=int, default=None,
                        help="serve /metrics and /healthz on this port (default $CLUSTERDOC_METRICS_PORT; none: off)")
    worker.set_defaults(func=cmd_worker)

    wide_help = "do not wrap or shorten anything (default: wrap to the terminal's width)"
    ask = sub.add_parser("ask", help="run one /k8s command here and print the report",
                         description="Exit status: 0 a report, 1 the target was not found (or not "
                                     "diagnosable), 2 a usage or configuration error.")
    ask.add_argument("command", help='e.g. "why-pending web-0 -n shop"')
    ask.add_argument("--snapshot", help="a snapshot file or folder instead of the live cluster (docs/snapshots.md)")
    ask.add_argument("--json", action="store_true", help="print the JSON report")
    ask.add_argument("--wide", action="store_true", help=wide_help)
    ask.add_argument("--now", type=timestamp,
                     help="the clock for ages (ISO 8601); default for a snapshot: its newest timestamp")
    ask.set_defaults(func=cmd_ask)

    demo = sub.add_parser("demo", help="run the bundled example scenarios")
    demo.add_argument("--json", action="store_true",
                      help="print one JSON array: {scenario, title, command, snapshot, report} per scenario")
    demo.add_argument("--wide", action="store_true", help=wide_help)
    demo.add_argument("--scenario", help="run only this scenario")
    demo.set_defaults(func=cmd_demo)

    runbooks = sub.add_parser("runbooks", help="list or validate runbooks")
    runbooks.add_argument("action", choices=["list", "validate"])
    runbooks.add_argument("paths", nargs="*", help="files or folders to validate (default: all)")
    runbooks.set_defaults(func=cmd_runbooks)

    scheduling = sub.add_parser("scheduling", help="scheduler message tools")
    scheduling.add_argument("action", choices=["parse"])
    scheduling.add_argument("message", help="a FailedScheduling message")
    scheduling.add_argument("--json", action="store_true")
    scheduling.set_defaults(func=cmd_scheduling)
    return parser


def _configure_logging(verbose: bool) -> None:
    """``CLUSTERDOC_LOG_FORMAT``/``CLUSTERDOC_LOG_LEVEL`` (:mod:`clusterdoc.logs`); a bad value is one line."""
    from clusterdoc.logs import LogSettingError, setup_logging

    try:
        setup_logging(verbose)
    except LogSettingError as exc:
        raise UserError(str(exc)) from exc


def _run(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    from clusterdoc.config import ConfigError
    from clusterdoc.workers.runbook.loader import RunbookError

    try:
        return int(func(args) or 0)
    except UserError as exc:
        if exc.status == EXIT_OK:
            print(str(exc))
            return EXIT_OK
        return _fail(str(exc), exc.status)
    except ConfigError as exc:
        return _fail(str(exc))
    except RunbookError as exc:
        for line in exc.problems:
            print(f"clusterdoc: {line}", file=sys.stderr)
        return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _configure_logging(args.verbose)
    except UserError as exc:
        return _fail(str(exc), exc.status)
    try:
        status = _run(args.func, args)
        sys.stdout.flush()
        return status
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``clusterdoc demo | head``): not worth a line, as for any shell tool.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # a bug, not the user's doing: one line; the traceback with -v
        if args.verbose:
            raise
        detail = " ".join(str(exc).split())[:200]
        return _fail(f"internal error: {type(exc).__name__}: {detail} (run with -v for the traceback)",
                     EXIT_INTERNAL)


if __name__ == "__main__":
    sys.exit(main())
