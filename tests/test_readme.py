"""The README's examples are real: the configuration file validates, the worked runbook loads and
runs against a snapshot, the Alertmanager snippet passes amtool, and the two commands stay."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

from clusterdoc.config import FileConfig
from clusterdoc.workers.runbook.loader import Catalogue

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def yaml_blocks(text: str) -> list[str]:
    return [textwrap.dedent(block) for block in re.findall(r"```yaml\n(.*?) *```", text, re.S)]


def test_the_two_commands_are_unchanged() -> None:
    assert "```sh\nbash scripts/demo.sh\n```" in README
    assert "```sh\nbash scripts/test.sh\n```" in README


def test_the_configuration_example_is_valid() -> None:
    (block,) = yaml_blocks(section("Routing and the approval policy"))
    config = FileConfig.model_validate(yaml.safe_load(block))
    assert config.approvals.rules[0].name == "sre-on-call"


def test_the_worked_runbook_loads_and_runs(tmp_path: Path) -> None:
    (block,) = yaml_blocks(section("Write a runbook"))
    (tmp_path / "ingress-controller.yaml").write_text(block, encoding="utf-8")
    catalogue = Catalogue.load([tmp_path])
    assert catalogue.get("ingress-controller") is not None
    done = subprocess.run([sys.executable, "-m", "clusterdoc", "ask", "run ingress-controller deploy/api -n shop",
                           "--snapshot", str(ROOT / "examples" / "crashloop")],
                          env={"CLUSTERDOC_RUNBOOKS": str(tmp_path), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode in (0, 1), done.stderr  # 1: the report found a problem
    assert "ingress-controller · Deployment shop/api" in done.stdout and "(rollout)" in done.stdout, done.stdout


def test_the_alertmanager_snippet_is_valid(tmp_path: Path) -> None:
    amtool = shutil.which("amtool")
    assert amtool, "amtool is missing: apt-get install prometheus-alertmanager"
    (block,) = yaml_blocks(section("Install in a cluster"))
    config = yaml.safe_load(block)
    token = tmp_path / "token"
    token.write_text("t\n", encoding="utf-8")
    config["receivers"][0]["webhook_configs"][0]["http_config"]["authorization"]["credentials_file"] = str(token)
    config["route"]["receiver"] = "clusterdoc"
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    done = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
