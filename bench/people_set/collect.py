"""Collect the labelled face photos named in ``manifest.json`` from the packages that ship them.

KPhotoAlbum's demo album (Debian ``kphotoalbum``: its author's photos, the people in each named
in the album's ``index.xml``) and face_recognition's test photos (the PyPI sdist
``face_recognition``). Packages are fetched with ``apt-get download`` and ``pip download
--no-deps --no-binary :all:`` (nothing is installed); each photo is turned as KPhotoAlbum shows
it (its ``angle``) and copied into ``bench/out/people-photos/``. Nothing is committed; a second
run finds the photos there and stays offline.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
CACHE = HERE.parent / "out" / "people-photos"


def load_manifest() -> dict[str, object]:
    manifest: dict[str, object] = json.loads(MANIFEST.read_text("utf-8"))
    return manifest


def photo_path(photo: dict[str, object]) -> Path:
    return CACHE / f"{photo['id']}.jpg"


def _fetch(source: str, package: str, version: str, into: Path) -> Path:
    if source == "deb":
        cmd = ["apt-get", "download", f"{package}={version}"]
        if subprocess.run(cmd, cwd=into, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(cmd, cwd=into, check=True, capture_output=True)
        return next(into.glob("*.deb"))
    if source == "pypi-sdist":
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", "--disable-pip-version-check", "-d", str(into),
             f"{package}=={version}"],
            check=True,
        )  # fmt: skip
        return next(into.glob("*.tar.gz"))
    raise ValueError(f"unknown source {source!r}")


def _members(archive: Path, wanted: set[str]) -> dict[str, bytes]:
    if archive.suffix == ".deb":
        data = subprocess.run(
            ["dpkg-deb", "--fsys-tarfile", str(archive)], check=True, capture_output=True
        ).stdout
    else:
        data = archive.read_bytes()
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for member in tf.getmembers():
            name = member.name.removeprefix("./")
            if name in wanted and (f := tf.extractfile(member)) is not None:
                found[name] = f.read()
    return found


def collect() -> list[dict[str, object]]:
    """Make sure every photo is in the cache; returns the manifest's photo entries."""
    manifest = load_manifest()
    photos: list[dict[str, object]] = manifest["photos"]  # type: ignore[assignment]
    sources: dict[str, dict[str, str]] = manifest["sources"]  # type: ignore[assignment]
    CACHE.mkdir(parents=True, exist_ok=True)
    missing: dict[str, list[dict[str, object]]] = {}
    for photo in photos:
        if not photo_path(photo).is_file():
            missing.setdefault(str(photo["source"]), []).append(photo)
    for source_id, entries in missing.items():
        source = sources[source_id]
        print(f"  fetching {source['package']} {source['version']}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            archive = _fetch(source["kind"], source["package"], source["version"], Path(tmp))
            found = _members(archive, {str(p["path"]) for p in entries})
            for photo in entries:
                image = Image.open(io.BytesIO(found[str(photo["path"])])).convert("RGB")
                angle = int(str(photo.get("angle", 0)))
                if angle:  # KPhotoAlbum turns clockwise; PIL's rotate is anticlockwise
                    image = image.rotate(-angle, expand=True)
                image.save(photo_path(photo), quality=95)
    return photos


if __name__ == "__main__":
    for entry in collect():
        print(photo_path(entry))
