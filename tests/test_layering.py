"""The process split DESIGN.md fixes, checked three ways: import-linter's contracts (pyproject.toml),
what the serve entry point really loads, and the chart's RBAC for the diagnostic role."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def test_serve_entry_point_loads_no_cluster_access_or_remediation() -> None:
    probe = (
        "import sys, clusterdoc.bot.server, clusterdoc.bot.app, clusterdoc.cli;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'kubernetes'"
        " or m.startswith(('clusterdoc.workers.cluster.live', 'clusterdoc.workers.cluster.snapshot',"
        " 'clusterdoc.workers.cluster.factory', 'clusterdoc.workers.remediation',"
        " 'clusterdoc.workers.approvals', 'clusterdoc.workers.jobs', 'clusterdoc.workers.process')));"
        "print(len(sys.modules)); print('\\n'.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    count, *loaded = result.stdout.strip().splitlines()
    assert int(count) > 100  # the serve app really was imported
    assert loaded == []


def test_the_worker_entry_point_does_load_cluster_access() -> None:
    """The probe above can fail: the worker side does load what serve must not."""
    probe = "import sys, clusterdoc.workers.process; print('kubernetes' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "True", result.stderr


def test_diagnostic_role_is_read_only_and_never_reads_secrets() -> None:
    import yaml

    text = (ROOT / "helm/clusterdoc/templates/rbac.yaml").read_text(encoding="utf-8")
    untemplated = "\n".join(line for line in text.splitlines() if "{{" not in line)
    documents = [doc for doc in yaml.safe_load_all(untemplated) if doc]
    role = next(doc for doc in documents if doc["kind"] == "ClusterRole")
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule
        assert "secrets" not in rule["resources"], rule


def test_worker_may_only_impersonate_the_remediation_account() -> None:
    import re

    import yaml

    text = (ROOT / "helm/clusterdoc/templates/remediation-rbac.yaml").read_text(encoding="utf-8")
    # the default values: impersonateApprovers is off
    text = re.sub(r"\{\{- if .Values.remediation.impersonateApprovers \}\}.*?\{\{- end \}\}", "", text, flags=re.S)
    untemplated = "\n".join(line for line in text.splitlines() if "{{" not in line)
    roles = [doc for doc in yaml.safe_load_all(untemplated) if doc and doc["kind"] == "ClusterRole"]
    impersonate = [rule for role in roles for rule in role["rules"] if "impersonate" in rule["verbs"]]
    assert impersonate and all(rule["resources"] == ["serviceaccounts"] for rule in impersonate)
    writes = [rule for role in roles for rule in role["rules"] if set(rule["verbs"]) - {"get", "list", "watch"}]
    assert all("secrets" not in rule["resources"] and "*" not in rule["verbs"] for rule in writes)
