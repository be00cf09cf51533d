"""Linters and release tools that are not project dependencies: each is installed once into a
virtualenv of its own under .cache/tools (or taken from an environment variable or PATH), and a
test that needs one skips, naming the reason, when it cannot be installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / ".cache" / "tools"


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def tool_venv(venv_name: str, specs: list[str], executable: str, *, env_var: str) -> str:
    """Path of ``executable`` from ``$env_var``, the tool virtualenv ``venv_name``, or PATH;
    installs ``specs`` into the virtualenv when none has it (unless EVENTLENS_NO_TOOL_INSTALL)."""
    explicit = os.environ.get(env_var)
    if explicit:
        return explicit
    venv = TOOLS / venv_name
    if _bin(venv, executable).is_file():
        return str(_bin(venv, executable))
    on_path = shutil.which(executable)
    if on_path:
        return on_path
    if os.environ.get("EVENTLENS_NO_TOOL_INSTALL"):
        pytest.skip(f"{executable} not installed and EVENTLENS_NO_TOOL_INSTALL is set")
    TOOLS.mkdir(parents=True, exist_ok=True)
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(_bin(venv, "python")), "-m", "pip", "install", "--quiet", *specs],
    ]
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
        if proc.returncode != 0:
            pytest.skip(
                f"{executable} not installed and `{' '.join(cmd)}` failed: {proc.stderr[-400:]}"
            )
    return str(_bin(venv, executable))


def tool_target(dir_name: str, specs: list[str], module: str) -> Path:
    """A directory holding ``specs`` installed for this interpreter (``pip install --target``),
    for a tool that must run inside the project's environment to see what is installed in it:
    run it as ``python -m module`` with the directory on PYTHONPATH."""
    target = TOOLS / dir_name
    if (target / module).is_dir():
        return target
    if os.environ.get("EVENTLENS_NO_TOOL_INSTALL"):
        pytest.skip(f"{module} not installed and EVENTLENS_NO_TOOL_INSTALL is set")
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), *specs]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0 or not (target / module).is_dir():
        pytest.skip(f"{module} not installed and `{' '.join(cmd)}` failed: {proc.stderr[-400:]}")
    return target
