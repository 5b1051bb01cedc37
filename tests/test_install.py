"""A built wheel carries the rule sets and presets and works from any folder.

Builds the wheel from a copy of the checkout, installs it without dependencies into a fresh
virtual environment in a temporary folder (the dependencies come from this environment's
site-packages through a .pth line, so nothing is downloaded but the build backend), and runs
`rules list`, `tax` (with a state rule set) and `optimize` from another temporary folder.
Marked `install`; it runs with the rest of the suite (about 15-30 s).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["pyproject.toml", "setup.py", "README.md", "taxopt", "rules"]
PLAN = ROOT / "examples" / "young-accumulator.toml"

pytestmark = pytest.mark.install


def _run(argv: list, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the fresh environment's bin folder, a folder outside the checkout to run in)."""
    base = tmp_path_factory.mktemp("install")
    source = base / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for name in SOURCES:
        item = ROOT / name
        if item.is_dir():
            shutil.copytree(item, source / name, ignore=ignore)
        else:
            shutil.copy2(item, source / name)
    dist = base / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, source], base)
    assert not (source / "build").exists(), "building the wheel left build/ in the source"
    (wheel,) = dist.glob("taxopt-*.whl")

    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], base)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    site = Path(
        _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], base)
        .stdout.strip()
    )
    # Dependencies from this environment; a plain path line does not run its .pth files,
    # so the editable install of the checkout stays out of the fresh environment.
    parent = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "_parent_deps.pth").write_text("\n".join(sorted(parent)) + "\n")
    _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel],
        base,
    )
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    return bin_dir, elsewhere


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def test_the_installed_package_is_the_wheel_not_the_checkout(installed):
    bin_dir, elsewhere = installed
    done = _run([bin_dir / "python", "-c", "import taxopt; print(taxopt.__file__)"], elsewhere)
    location = Path(done.stdout.strip()).resolve()
    assert bin_dir.parent in location.parents
    assert ROOT not in location.parents


def test_rules_list_finds_every_shipped_rule_set(installed):
    bin_dir, elsewhere = installed
    done = _run([bin_dir / "taxopt", "rules", "list", "--json"], elsewhere, _env())
    names = {row["name"] for row in json.loads(done.stdout)}
    shipped = {p.stem for p in (ROOT / "rules").glob("*.toml")}
    assert names == shipped
    assert all(not row["title"].startswith("INVALID") for row in json.loads(done.stdout))


def test_tax_runs_from_another_folder(installed):
    bin_dir, elsewhere = installed
    argv = [bin_dir / "taxopt", "tax", "--rules", "us-federal-2025", "--filing-status"]
    argv += ["single", "--age", "40", "--ordinary-income", "50000", "--json"]
    done = _run(argv, elsewhere, _env())
    # Standard deduction $15,750 single for 2025 (IRC §63(c)(7) as amended by P.L. 119-21
    # §70102); taxable $34,250 taxed by Rev. Proc. 2024-40 §2.01 Table 3:
    # 10% of $11,925 + 12% of $22,325 = $1,192.50 + $2,679.00.
    assert json.loads(done.stdout)["total_tax"] == pytest.approx(3871.50, abs=0.01)


def test_state_rule_sets_ship_too(installed):
    bin_dir, elsewhere = installed
    argv = [bin_dir / "taxopt", "tax", "--rules", "us-federal-2025", "--state", "ca"]
    argv += ["--filing-status", "single", "--age", "40", "--ordinary-income", "50000", "--json"]
    state = json.loads(_run(argv, elsewhere, _env()).stdout)["state"]
    assert state["rules"] == "us-ca-2025" and state["state_agi"] == 50000.0


def test_optimize_runs_from_another_folder_with_the_bundled_presets(installed):
    bin_dir, elsewhere = installed
    plan = elsewhere / PLAN.name
    shutil.copy2(PLAN, plan)
    argv = [bin_dir / "taxopt", "optimize", plan.name, "--rules", "us-federal-2026"]
    argv += ["--mode", "fast", "--no-baselines", "--json", "result.json"]
    _run(argv, elsewhere, _env())
    result = json.loads((elsewhere / "result.json").read_text())
    assert result["rules"] == "us-federal-2026"
    assert result["sustainable_spending"] > 0
