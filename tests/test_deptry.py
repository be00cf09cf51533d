"""deptry over src/: every import is declared (in the right extra) and every declared package
is used; the exceptions are listed, each with its reason, under [tool.deptry] in pyproject.toml.

deptry runs with the project's own interpreter, so it maps the installed distributions to their
modules; it is installed into .cache/tools/deptry, not into the project's environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tool_venv import tool_target

ROOT = Path(__file__).resolve().parents[1]
DEPTRY_SPEC = "deptry==0.25.1"

pytestmark = pytest.mark.infra_lint


@pytest.fixture(scope="session")
def deptry_path() -> Path:
    return tool_target("deptry", [DEPTRY_SPEC], "deptry")


def run_deptry(deptry_path: Path, project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deptry", "--no-ansi", "src"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(deptry_path)},
        check=False,
    )


def test_imports_and_declared_dependencies_agree(deptry_path: Path) -> None:
    proc = run_deptry(deptry_path, ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert "No dependency issues found" in proc.stdout + proc.stderr
    assert "Scanning " in proc.stdout + proc.stderr  # it really read the sources


def test_deptry_reports_an_undeclared_import(deptry_path: Path, tmp_path: Path) -> None:
    """Guards the guard: an import that only a transitive dependency provides (botocore comes
    with boto3) and one of nothing installed are both reported."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0"\ndependencies = ["boto3"]\n'
    )
    (tmp_path / "src" / "demo").mkdir(parents=True)
    (tmp_path / "src" / "demo" / "__init__.py").write_text(
        "import boto3\nimport botocore\nimport no_such_module_anywhere\n"
    )
    proc = run_deptry(deptry_path, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "DEP003 'botocore'" in out
    assert "DEP001 'no_such_module_anywhere'" in out
