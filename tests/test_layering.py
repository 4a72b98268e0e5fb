"""The dependency arrows DESIGN.md fixes: ``workers`` never imports ``bot`` or ``slack_*``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKER_FILES = sorted((ROOT / "workers").rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", WORKER_FILES, ids=[str(p.relative_to(ROOT)) for p in WORKER_FILES])
def test_workers_do_not_import_bot_or_slack(path: Path) -> None:
    forbidden = {
        name for name in imported_modules(path) if name.split(".")[0] in {"bot", "slack_sdk", "slack_bolt"}
    }
    assert not forbidden, f"{path.name} imports {sorted(forbidden)}"


def test_there_are_worker_modules_to_check() -> None:
    assert len(WORKER_FILES) > 10


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
