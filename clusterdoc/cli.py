"""The ``clusterdoc`` command: serve, worker, ask, demo, runbooks, scheduling.

This is the process wiring DESIGN.md describes: it reads the settings, opens the cluster,
loads the runbook catalogue and hands Slack publishing to the worker. Errors a person can fix
(a missing setting, a broken runbook, a bad command) print one clear line and exit with 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from clusterdoc.config import ConfigError, Settings, load_settings
from clusterdoc.workers.cluster.base import Cluster, ClusterError
from clusterdoc.workers.runbook.loader import Catalogue, RunbookError, load_file, runbook_files

EXIT_USAGE = 2


def _fail(message: str) -> int:
    print(f"clusterdoc: {message}", file=sys.stderr)
    return EXIT_USAGE


def _catalogue(settings: Settings) -> Catalogue:
    return Catalogue.load(settings.runbook_folders())


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- ask / demo ------------------------------------------------------------------------------


def run_ask(
    command: str,
    *,
    settings: Settings,
    snapshot: str | None,
    as_json: bool,
    now: datetime | None = None,
    color: bool | None = None,
) -> tuple[int, str]:
    """Run one /k8s command in-process; returns (exit status, text to print)."""
    from clusterdoc.bot.commands import CommandError, parse_command
    from clusterdoc.render.json_report import render_json
    from clusterdoc.render.terminal import render_terminal
    from clusterdoc.workers.cluster.factory import open_cluster
    from clusterdoc.workers.cluster.snapshot import SnapshotCluster
    from clusterdoc.workers.runbook.engine import run_request

    catalogue = _catalogue(settings)
    try:
        parsed = parse_command(command, default_cluster=settings.CLUSTERDOC_CLUSTER, catalogue=catalogue)
    except CommandError as exc:
        return EXIT_USAGE, str(exc)
    if parsed.reply is not None:  # help, runbooks, not-available-yet: answered without a job
        return (0 if parsed.ok else EXIT_USAGE), parsed.reply
    request = parsed.request
    assert request is not None
    try:
        cluster: Cluster = open_cluster(
            request.cluster,
            snapshot=snapshot or settings.CLUSTERDOC_SNAPSHOT,
            kubeconfig=settings.KUBECONFIG,
        )
    except ClusterError as exc:
        return EXIT_USAGE, f"clusterdoc: {exc}"
    if now is None and isinstance(cluster, SnapshotCluster):
        now = cluster.store.taken_at()
    report = run_request(catalogue, request, cluster, now=now)
    text = render_json(report) if as_json else render_terminal(report, color=color)
    return 0, text


def _scenarios() -> tuple[Path, list[dict[str, Any]]]:
    root = Path(str(resources.files("clusterdoc.examples")))
    data = yaml.safe_load((root / "scenarios.yaml").read_text(encoding="utf-8"))
    return root, list(data or [])


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    root, scenarios = _scenarios()
    if args.scenario:
        scenarios = [s for s in scenarios if s["name"] == args.scenario]
        if not scenarios:
            return _fail(f"no demo scenario named {args.scenario!r}")
    worst_status = 0
    for index, scenario in enumerate(scenarios):
        if index:
            print()
        header = f"━━ {scenario['title']} ━━"
        print(header)
        print(f"$ /k8s {scenario['command']}    (snapshot: examples/{scenario['snapshot']})")
        print()
        status, text = run_ask(
            scenario["command"],
            settings=settings,
            snapshot=str(root / scenario["snapshot"]),
            as_json=args.json,
            now=_parse_time(scenario.get("now")),
        )
        print(text)
        worst_status = max(worst_status, status)
    return worst_status


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    status, text = run_ask(
        args.command, settings=settings, snapshot=args.snapshot, as_json=args.json, now=_parse_time(args.now)
    )
    print(text, file=sys.stdout if status == 0 else sys.stderr)
    return status


# -- runbooks / scheduling ---------------------------------------------------------------------


def cmd_runbooks(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "list":
        catalogue = _catalogue(settings)
        for name in catalogue.names():
            spec = catalogue.runbooks[name].spec
            targets = ", ".join(spec.targets) or "cluster"
            steps = " → ".join(step.step_id for step in spec.steps)
            print(f"{name:<16} {spec.title}\n{'':<16} targets: {targets}; steps: {steps}")
        return 0
    paths = [Path(p) for p in args.paths] or None
    problems: list[str] = []
    checked = 0
    if paths is None:
        try:
            checked = len(_catalogue(settings).names())
        except RunbookError as exc:
            problems = exc.problems
    else:
        try:
            files = runbook_files(paths)
        except RunbookError as exc:
            files, problems = [], list(exc.problems)
        for file in files:
            checked += 1
            try:
                load_file(file)
            except RunbookError as exc:
                problems.extend(exc.problems)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"{checked} runbook(s) valid")
    return 0


def cmd_scheduling(args: argparse.Namespace, settings: Settings) -> int:
    from clusterdoc.workers.scheduling.message import parse

    parsed = parse(args.message)
    if args.json:
        print(json.dumps(parsed.to_json(), indent=2))
    else:
        data = parsed.to_json()
        print(f"total nodes: {data['total_nodes']}")
        for reason in data["reasons"]:
            extra = f" ({reason['resource']})" if reason.get("resource") else ""
            print(f"  {reason['nodes']!s:>5}  {reason['category']}{extra}: {reason.get('detail', '')}")
        for text in data.get("unplaced") or []:
            print(f"  not placed (raw text kept): {text}")
        if data.get("preemption"):
            print(f"preemption: {json.dumps(data['preemption'])}")
    return 0


# -- processes ---------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from clusterdoc.bot.server import serve

    _catalogue(settings)  # a broken runbook stops start-up here, with the file named
    return serve(settings, host=args.host, port=args.port or settings.PORT) or 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from clusterdoc.workers.process import run_worker

    return run_worker(settings, args.cluster, args.burst) or 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clusterdoc", description="Kubernetes incident assistant for Slack.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="cmd", required=True)

    serve = sub.add_parser("serve", help="run the Slack app (HTTP, or Socket Mode with SLACK_APP_TOKEN)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=None, help="default $PORT or 3000")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run a diagnostic worker for one cluster's queue")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.add_argument("--cluster", default=None, help="default $CLUSTERDOC_CLUSTER")
    worker.set_defaults(func=cmd_worker)

    ask = sub.add_parser("ask", help="run one /k8s command here and print the report")
    ask.add_argument("command", help='e.g. "why-pending web-0 -n shop"')
    ask.add_argument("--snapshot", help="a snapshot file or folder instead of the live cluster")
    ask.add_argument("--json", action="store_true", help="print the JSON report")
    ask.add_argument("--now", help="the clock for ages (ISO 8601); default for a snapshot: its newest timestamp")
    ask.set_defaults(func=cmd_ask)

    demo = sub.add_parser("demo", help="run the bundled example scenarios")
    demo.add_argument("--json", action="store_true")
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings()
        return int(args.func(args, settings) or 0)
    except ConfigError as exc:
        return _fail(str(exc))
    except RunbookError as exc:
        for line in exc.problems:
            print(f"clusterdoc: {line}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
