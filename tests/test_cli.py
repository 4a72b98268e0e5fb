"""The first five minutes with ``clusterdoc``: every user error is one line, each command reads only its
settings, ``--help`` and ``ask --snapshot`` load little, not-found answers say where the object is,
the terminal output fits the terminal, ``--json`` is complete, ``runbooks validate`` says everything.

The CLI runs as a person runs it: ``python -m clusterdoc`` in a subprocess, without the machine's
Slack/cluster settings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from clusterdoc.bot import messages
from clusterdoc.cli import diagnose, report_status
from clusterdoc.config import load_settings
from clusterdoc.render.terminal import render_terminal
from clusterdoc.report import Report, Severity, Table, Target, Verdict
from clusterdoc.workers.remediation.catalogue import ACTIONS, use_catalogue_risks
from clusterdoc.workers.runbook.loader import Catalogue
from tests.harness.fake_kube import FakeKubeServer, write_kubeconfig
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.ports import free_port
from tests.harness.processes import REPO_ROOT, ServeProcess, process_env

EXAMPLES = REPO_ROOT / "examples"
TAINT = str(EXAMPLES / "taint-pending")
CRASHLOOP = str(EXAMPLES / "crashloop")
PRE_FILTER_ONLY = 'running PreFilter plugin "VolumeBinding": pod has unbound immediate PersistentVolumeClaims'


def clusterdoc(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clusterdoc", *args], cwd=REPO_ROOT, env=process_env(**env),
                          capture_output=True, text=True, timeout=timeout)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# -- one line per user error ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("ask", "audit"), "`audit` reads the approval log kept in Redis: ask `/k8s audit` in Slack"),
        (("ask", "--snapshot", TAINT, "--now", "yesterday", "why-pending web-0 -n shop"),
         "argument --now: 'yesterday' is not an ISO 8601 time"),
        (("ask", "--snapshot", "/nonexistent/snapshot", "describe web-0"), "/nonexistent/snapshot"),
        (("ask", "--snapshot", TAINT, "describe foo/bar -n shop"), "Unknown kind `foo` in `foo/bar`"),
        (("serve", "--port", "99999"), "argument --port: 99999 is not a port number (1-65535)"),
        (("worker", "--cluster", "bad name!"), "argument --cluster: 'bad name!': a cluster name is"),
        (("nosuchcommand",), "argument cmd: invalid choice"),
    ],
    ids=["audit", "now-yesterday", "missing-snapshot", "unknown-kind", "port-out-of-range", "bad-cluster-name",
         "unknown-command"],
)
def test_every_user_error_is_one_line_and_a_non_zero_exit(args: tuple[str, ...], expected: str) -> None:
    line = one_error_line(clusterdoc(*args))
    assert line.startswith("clusterdoc"), line
    assert expected in line


def test_a_pre_filter_message_parses_without_json() -> None:
    result = clusterdoc("scheduling", "parse", PRE_FILTER_ONLY)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "total nodes: unknown (not a per-node message)" in result.stdout


def test_a_reason_no_pattern_places_keeps_its_raw_text() -> None:
    message = "0/3 nodes are available: 2 Insufficient cpu, 1 node(s) had frobnicator quota exceeded."
    text = clusterdoc("scheduling", "parse", message)
    assert text.returncode == 0, text.stderr
    assert "not placed (raw text kept): node(s) had frobnicator quota exceeded" in text.stdout
    as_json = json.loads(clusterdoc("scheduling", "parse", "--json", message).stdout)
    assert as_json["unplaced"] == ["node(s) had frobnicator quota exceeded"]
    assert [(r["category"], r["nodes"]) for r in as_json["reasons"]] == [("insufficient_cpu", 2), ("other", 1)]


def test_output_piped_into_head_ends_quietly() -> None:
    process = subprocess.Popen([sys.executable, "-m", "clusterdoc", "demo"], cwd=REPO_ROOT, env=process_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()  # what `| head -1` does once it has its line
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 141  # 128 + SIGPIPE, like any shell tool cut short by head
    assert stderr == ""


# -- each command reads only its settings ----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [("demo", "--scenario", "taint-pending"), ("ask", "--snapshot", TAINT, "why-pending web-0 -n shop"),
     ("scheduling", "parse", "0/3 nodes are available: 3 Insufficient cpu."), ("runbooks", "list")],
    ids=["demo", "ask-snapshot", "scheduling-parse", "runbooks-list"],
)
def test_an_unrelated_bad_variable_does_not_stop_a_command_that_does_not_use_it(args: tuple[str, ...]) -> None:
    result = clusterdoc(*args, REDIS_URL="notaurl", SLACK_BOT_TOKEN="not-a-token", PROMETHEUS_URL="nope")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_a_command_that_uses_the_variable_still_names_it() -> None:
    line = one_error_line(clusterdoc("serve", "--port", str(free_port()), REDIS_URL="notaurl"))
    assert line == "clusterdoc: REDIS_URL: must be a redis://, rediss:// or unix:// URL, got 'notaurl'"


def test_settings_read_by_name_ignore_the_rest_of_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "notaurl")
    monkeypatch.setenv("CLUSTERDOC_CLUSTER", "prod")
    settings = load_settings(names=("CLUSTERDOC_CLUSTER",))
    assert settings.CLUSTERDOC_CLUSTER == "prod"
    assert settings.REDIS_URL == "redis://localhost:6379/0"


# -- start-up lines --------------------------------------------------------------------------------


def test_redis_location_never_shows_a_password() -> None:
    settings = load_settings({"REDIS_URL": "redis://:s3cret-pw@redis.internal:6380/2"})
    assert settings.redis_location() == "redis.internal:6380/2"


def test_serve_prints_one_start_up_line(fake_slack: FakeSlackServer, redis_url: str) -> None:
    env = process_env(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="s" * 32, SLACK_API_URL=fake_slack.url,
                      REDIS_URL=redis_url, CLUSTERDOC_CLUSTER="prod")
    server = ServeProcess(env)
    output = server.stop()
    started = [line for line in output.splitlines() if line.startswith("clusterdoc serve:")]
    assert started == [
        f"clusterdoc serve: listening on http://127.0.0.1:{server.port} · mode HTTP (/slack/events) · redis "
        f"{redis_url.removeprefix('redis://')} · default cluster prod · probes /healthz /readyz /metrics, "
        "alerts /alerts"
    ]
    assert "xoxb-test" not in output


def test_worker_prints_one_start_up_line(fake_slack: FakeSlackServer, redis_url: str) -> None:
    result = clusterdoc("worker", "--burst", SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=fake_slack.url,
                        REDIS_URL=redis_url, CLUSTERDOC_SNAPSHOT=TAINT)
    assert result.returncode == 0, result.stderr
    started = [line for line in result.stderr.splitlines() if line.startswith("clusterdoc worker:")]
    assert started == [f"clusterdoc worker: cluster default (snapshot {TAINT}) · queue clusterdoc:default · redis "
                       f"{redis_url.removeprefix('redis://')} · mode burst (exits when the queue is empty)"]


def test_a_port_in_use_is_one_line_before_anything_starts() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = clusterdoc("serve", "--host", "127.0.0.1", "--port", str(port), SLACK_BOT_TOKEN="xoxb-test",
                            SLACK_SIGNING_SECRET="s", SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/")
    assert one_error_line(result) == f"clusterdoc: cannot listen on 127.0.0.1:{port}: Address already in use"


def test_unreachable_slack_is_one_line_naming_the_url_tried() -> None:
    url = f"http://127.0.0.1:{free_port()}/api/"
    result = clusterdoc("serve", "--port", str(free_port()), SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="s",
                        SLACK_API_URL=url)
    line = one_error_line(result)
    assert line.startswith(f"clusterdoc: SLACK_API_URL: cannot reach Slack at {url} to check SLACK_BOT_TOKEN (")
    assert "ERROR" not in result.stdout + result.stderr


def test_unreachable_slack_without_slack_api_url_does_not_blame_it() -> None:
    line = messages.slack_unreachable("https://slack.com/api/", "Name or service not known", url_was_set=False)
    assert line.startswith("cannot reach Slack at https://slack.com/api/ to check SLACK_BOT_TOKEN")
    assert "SLACK_API_URL" not in line


# -- lazy imports ----------------------------------------------------------------------------------


def loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, env=process_env(), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_help_loads_neither_pydantic_yaml_nor_slack() -> None:
    loaded = loaded_after("from clusterdoc.cli import build_parser\nbuild_parser().format_help()")
    assert not loaded & {"pydantic", "pydantic_settings", "yaml", "slack_sdk", "kubernetes", "redis", "rq"}


def test_ask_on_a_snapshot_never_loads_the_kubernetes_client() -> None:
    code = (f"import contextlib, io\nfrom clusterdoc.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):"
            f"\n    assert main(['ask', '--snapshot', {TAINT!r}, 'why-pending web-0 -n shop']) == 0")
    loaded = loaded_after(code)
    assert "kubernetes" not in loaded and "urllib3" not in loaded and "slack_sdk" not in loaded


# -- not found, and near misses --------------------------------------------------------------------


def test_a_pod_in_another_namespace_is_found_with_the_command_to_run() -> None:
    result = clusterdoc("ask", "--snapshot", TAINT, "why-pending web-0")
    assert result.returncode == 1, result.stderr
    assert "pod web-0 not found in namespace default; it exists in namespace shop" in result.stdout
    assert "Found in namespace shop: `/k8s why-pending web-0 -n shop`" in result.stdout


def test_a_mistyped_namespace_is_suggested() -> None:
    result = clusterdoc("ask", "--snapshot", TAINT, "describe web-0 -n shopp")
    assert result.returncode == 1
    assert "Found in namespace shop: `/k8s describe web-0 -n shop`" in result.stdout
    assert "Namespace shopp has no pods; did you mean `-n shop`?" in result.stdout


def test_a_mistyped_kind_is_suggested_not_read_as_a_namespace() -> None:
    line = one_error_line(clusterdoc("ask", "--snapshot", CRASHLOOP, "describe deplo/api -n shop"))
    assert "Unknown kind `deplo` in `deplo/api`. Did you mean `deploy/api`?" in line
    assert "namespace deplo" not in line


def test_the_same_name_elsewhere_is_one_cluster_wide_list_with_a_name_field_selector(tmp_path: Path) -> None:
    with FakeKubeServer(EXAMPLES / "taint-pending") as server:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url)
        server.reset_log()
        report = diagnose("why-pending web-0 -n staging", catalogue=Catalogue.load(), kubeconfig=str(kubeconfig))
        pod_lists = [(r.path, r.query.get("fieldSelector")) for r in server.requests_to(r"/pods$")]
    assert report_status(report) == 1
    assert "Found in namespace shop: `/k8s why-pending web-0 -n shop`" in report.findings[0].detail
    assert ("/api/v1/pods", "metadata.name=web-0") in pod_lists
    per_namespace = [path for path, _ in pod_lists if path.startswith("/api/v1/namespaces/")]
    assert per_namespace == ["/api/v1/namespaces/staging/pods"], "only the namespace asked about, no loop"


# -- reports ---------------------------------------------------------------------------------------


def test_one_rule_decides_the_layer_of_a_stuck_rollout() -> None:
    catalogue = Catalogue.load()
    layers = {command: diagnose(command, catalogue=catalogue, snapshot=CRASHLOOP).verdict.layer
              for command in ("describe deploy/api -n shop", "why-pending deploy/api -n shop",
                              "run deployment deploy/api -n shop")}
    assert set(layers.values()) == {"workload"}, layers


def test_describe_of_a_crash_looping_workload_carries_the_crashloop_analysis() -> None:
    catalogue = Catalogue.load()
    described = diagnose("describe deploy/api -n shop", catalogue=catalogue, snapshot=CRASHLOOP)
    analysed = diagnose("run crashloop api-6d8f7b9c54-x2x7k -n shop", catalogue=catalogue, snapshot=CRASHLOOP)
    assert described.verdict.severity == analysed.verdict.severity == Severity.CRITICAL
    assert analysed.verdict.summary.rstrip(".") in described.verdict.summary
    assert "Raise the memory limit above 256Mi" in described.findings[1].detail
    assert [r.action for r in described.remediations] == [r.action for r in analysed.remediations]


@pytest.mark.parametrize(
    ("snapshot", "command"),
    [(CRASHLOOP, "run crashloop api-6d8f7b9c54-x2x7k -n shop"), (CRASHLOOP, "describe deploy/api -n shop"),
     (CRASHLOOP, "run deployment deploy/api -n shop"), (TAINT, "why-pending web-0 -n shop")],
    ids=["crashloop", "describe-deploy", "deployment", "why-pending"],
)
def test_every_remediation_shows_the_catalogues_risk(snapshot: str, command: str) -> None:
    report = diagnose(command, catalogue=Catalogue.load(), snapshot=snapshot)
    offered = [(r.action, r.risk) for r in report.remediations if r.action in ACTIONS]
    assert offered == [(action, ACTIONS[action].risk) for action, _risk in offered]


def test_the_worker_applies_the_catalogues_risk_to_a_report() -> None:
    report = diagnose("run crashloop api-6d8f7b9c54-x2x7k -n shop", catalogue=Catalogue.load(), snapshot=CRASHLOOP)
    report.remediations[0].risk = "low"
    use_catalogue_risks(report)
    assert report.remediations[0].risk == ACTIONS["rollback_deployment"].risk == "high"


def _events_report(message: str) -> Report:
    rows = tuple(("12s ago", "Warning", "BackOff", f"pod/api-{i}", "187 over 58m", message) for i in range(3))
    from clusterdoc.report import Finding

    table = Table(("LAST SEEN", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE"), rows, one_line_rows=True)
    finding = Finding("events", Severity.WARNING, "Warning events", "", [table])
    return Report("events", Target("Pod", "api", "shop"), Verdict("workload", Severity.WARNING, "x"), [finding])


def test_events_stay_one_line_each_with_their_count_and_wide_shows_everything() -> None:
    message = "Back-off restarting failed container api in pod api-6d8f7b9c54-x2x7k_shop(ded7980b-805f-5170)"
    narrow = render_terminal(_events_report(message), color=False, width=90)
    rows = [line for line in narrow.splitlines() if "pod/api-" in line]
    assert len(rows) == 3 and all(len(line) <= 90 and "187 over 58m" in line and line.endswith("…") for line in rows)
    wide = render_terminal(_events_report(message), color=False, width=100_000)
    assert sum(1 for line in wide.splitlines() if line.endswith(message)) == 3


def test_terminal_wraps_to_the_terminals_width_at_word_boundaries() -> None:
    for columns in (80, 140):
        result = clusterdoc("ask", "--snapshot", CRASHLOOP, "describe deploy/api -n shop", COLUMNS=str(columns))
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert max(len(line) for line in lines) <= columns
        assert "CrashLoopBackOf\n" not in result.stdout and "CrashLoopBackOff" in result.stdout
    wide = clusterdoc("ask", "--snapshot", CRASHLOOP, "--wide", "describe deploy/api -n shop", COLUMNS="80")
    assert "Back-off restarting failed container api in pod api-6d8f7b9c54-x2x7k_shop(" in wide.stdout


@pytest.mark.parametrize("width", [50, 60, 80, 120])
@pytest.mark.parametrize(
    ("snapshot", "command"),
    [(CRASHLOOP, "describe deploy/api -n shop"), (CRASHLOOP, "run crashloop api-6d8f7b9c54-x2x7k -n shop"),
     (TAINT, "why-pending web-0 -n shop"), (str(EXAMPLES / "node-notready"), "run node node/ip-10-0-1-5")],
    ids=["describe-deploy", "crashloop", "why-pending", "node"],
)
def test_no_line_is_wider_than_the_terminal(snapshot: str, command: str, width: int) -> None:
    report = diagnose(command, catalogue=Catalogue.load(), snapshot=snapshot)
    too_wide = [line for line in render_terminal(report, color=False, width=width).splitlines() if len(line) > width]
    assert too_wide == []


def test_demo_json_is_one_json_array_of_complete_reports() -> None:
    result = clusterdoc("demo", "--json")
    assert result.returncode == 0, result.stderr
    scenarios = json.loads(result.stdout)
    assert [s["scenario"] for s in scenarios] == ["taint-pending", "crashloop", "node-notready"]
    for scenario in scenarios:
        assert set(scenario) == {"scenario", "title", "command", "snapshot", "report"}
        assert scenario["report"]["schema_version"] == 1
        assert {"findings", "remediations", "scheduling"} <= set(scenario["report"])
    assert [s["report"]["verdict"]["layer"] for s in scenarios] == ["scheduler", "workload", "node"]


def test_ask_json_keys_are_always_present() -> None:
    result = clusterdoc("ask", "--json", "--snapshot", CRASHLOOP, "describe deploy/api -n shop")
    report = json.loads(result.stdout)
    assert report["schema_version"] == 1 and report["scheduling"] is None
    assert all({"blocks", "error_id"} <= set(finding) for finding in report["findings"])


# -- runbooks ----------------------------------------------------------------------------------------


def test_validate_reports_every_error_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: Bad_Name\ntargets: [Pod]\nsteps:\n  - kind: evnets\n  - kind: node\n"
                    "  - kind: events\n    with: {limit: many}\n")
    result = clusterdoc("runbooks", "validate", str(path))
    assert result.returncode == 1
    problems = [line for line in result.stderr.splitlines() if line.startswith(f"{path}: ")]
    assert [line.split(": ", 2)[1] for line in problems] == [
        "name", "title", "steps[0].kind", "steps[1].kind", "steps[2].with.limit"]
    assert "step kind 'node' diagnoses Node only, so it has nothing to look at in a runbook for Pod" in result.stderr
    assert "5 problem(s) found" in result.stderr


def test_a_user_runbook_replacing_a_built_in_is_a_warning_and_list_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text("name: describe\ntitle: My describe\ntargets: [Pod]\nsteps:\n"
                                        "  - kind: describe\n")
    validated = clusterdoc("runbooks", "validate", CLUSTERDOC_RUNBOOKS=str(tmp_path))
    assert validated.returncode == 0, validated.stderr
    assert validated.stderr.strip() == (f"warning: {tmp_path / 'mine.yaml'}: runbook 'describe' replaces the built-in "
                                        "one of the same name")
    listed = clusterdoc("runbooks", "list", CLUSTERDOC_RUNBOOKS=str(tmp_path)).stdout
    assert f"from: {tmp_path / 'mine.yaml'}" in listed
    assert "from: built-in" in listed
