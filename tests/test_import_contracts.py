"""The import graph keeps its layers and has no cycles (contracts in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_are_kept() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    result = subprocess.run(
        [lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_the_rekognition_lambda_builds_without_local_mode_packages() -> None:
    """A Rekognition-only Lambda zip carries neither watchdog nor numpy: building its app
    must import neither (the embedded app is wired in eventlens.wiring.local)."""
    script = (
        "import sys\n"
        "for name in ('watchdog', 'numpy', 'pyvips', 'onnxruntime'):\n"
        "    sys.modules[name] = None  # importing them fails\n"
        "from eventlens.aws.app import AwsApp\n"
        "from eventlens.settings import Settings\n"
        "app = AwsApp.from_settings(Settings.from_env({}, mode='aws'))\n"
        "print([a.name for a in app.analyzers])\n"
    )
    env = {"AWS_DEFAULT_REGION": "eu-west-1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "['labels']"
