"""People end to end: real photos through `eventlens run --once` as a process, the people
index in the real SQLite file, and the `people` / `results search --person` commands."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from eventlens.face_people import DEFAULT_THRESHOLD, FaceEntry
from eventlens.results.people_sqlite import PeopleError, SQLitePeopleIndex
from eventlens.settings import Settings
from tests.processes import BETA, EVENTLENS, db_of, rows

PHOTOS = Path(__file__).resolve().parent.parent / "src" / "eventlens" / "data" / "person-check"


def eventlens(root: Path, *args: str, people: str = "on") -> subprocess.CompletedProcess[str]:
    env = os.environ | {"EVENTLENS_ANALYZERS": "image_properties", "EVENTLENS_PEOPLE": people}
    return subprocess.run(
        [EVENTLENS, *args, "--root", str(root)], env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def people_of(root: Path, key: str) -> list[str]:
    findings = json.loads(str(rows(root)[key]["findings"]))
    return [face["PersonId"] for face in findings["people"]["Faces"]]


def test_people_are_off_until_enabled(tmp_path: Path) -> None:
    (tmp_path / BETA).mkdir(parents=True)
    Image.open(PHOTOS / "messi.jpg").save(tmp_path / BETA / "messi.jpg")
    assert eventlens(tmp_path, "run", "--once", people="off").returncode == 0
    assert "people" not in json.loads(str(rows(tmp_path)["messi.jpg"]["findings"]))
    with sqlite3.connect(db_of(tmp_path)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "people_faces" not in tables


def test_same_person_across_photos_named_once_found_by_name(tmp_path: Path) -> None:
    folder = tmp_path / BETA
    folder.mkdir(parents=True)
    messi = Image.open(PHOTOS / "messi.jpg").convert("RGB")
    messi.save(folder / "messi.jpg", quality=95)
    mirrored = ImageOps.mirror(messi)
    mirrored.resize((messi.width * 4 // 5, messi.height * 4 // 5)).save(folder / "again.jpg")
    Image.open(PHOTOS / "astronaut.jpg").save(folder / "astronaut.jpg")
    done = eventlens(tmp_path, "run", "--once")
    assert done.returncode == 0, done.stderr

    (first,) = people_of(tmp_path, "messi.jpg")[:1]
    assert first in people_of(tmp_path, "again.jpg")
    (astronaut,) = people_of(tmp_path, "astronaut.jpg")
    assert astronaut != first

    named = eventlens(tmp_path, "people", "name", first, "Lionel Messi", "--env", "beta")
    assert named.returncode == 0, named.stderr
    found = eventlens(
        tmp_path, "results", "search", "--env", "beta", "--person", "lionel messi", "--json"
    )
    assert found.returncode == 0, found.stderr
    keys = {r["filename"].removeprefix(BETA) for r in json.loads(found.stdout)}
    assert keys == {"messi.jpg", "again.jpg"}
    listed = json.loads(eventlens(tmp_path, "people", "list", "--env", "beta", "--json").stdout)
    assert {p["name"] for p in listed} >= {"Lionel Messi", None}

    # re-analysis (new bytes of the same photo) keeps the name; deletion removes the faces
    messi.save(folder / "messi.jpg", quality=80)
    (folder / "again.jpg").unlink()
    assert eventlens(tmp_path, "run", "--once").returncode == 0
    shown = eventlens(tmp_path, "people", "show", "Lionel Messi", "--env", "beta", "--json")
    assert shown.returncode == 0, shown.stderr
    assert [k.removeprefix(BETA) for k in json.loads(shown.stdout)["keys"]] == ["messi.jpg"]

    forgot = eventlens(tmp_path, "people", "forget", "--yes", "--json")
    assert forgot.returncode == 0, forgot.stderr
    assert json.loads(forgot.stdout)["faces"] >= 2
    with sqlite3.connect(db_of(tmp_path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM people_faces").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM people").fetchone()[0] == 0


def test_the_settings_default_threshold_is_the_one_chosen_on_the_tuning_people() -> None:
    # settings.py keeps a literal (it must not import numpy); both say the tuned value
    assert Settings().people_threshold == DEFAULT_THRESHOLD == 0.46


def _face(key: str, *values: float) -> FaceEntry:
    vector = np.zeros(128, np.float32)
    vector[: len(values)] = values
    return FaceEntry(key, 0, vector)


def test_a_later_face_between_two_people_merges_them_unless_named_apart(tmp_path: Path) -> None:
    index = SQLitePeopleIndex(tmp_path / "people.db", threshold=0.6)
    (a,) = index.assign("beta", "a.jpg", [_face("a.jpg", 0.0)])
    (b,) = index.assign("beta", "b.jpg", [_face("b.jpg", 1.0)])
    assert a != b
    (bridge,) = index.assign("beta", "c.jpg", [_face("c.jpg", 0.5)])
    assert bridge == a and index.person_of("beta", "b.jpg", 0) == a
    assert index.photos_of("beta", a) == ["a.jpg", "b.jpg", "c.jpg"]

    split = index.split("beta", a, ["b.jpg"])
    index.name("beta", a, "Ann")
    index.name("beta", split.id, "Bo")
    with pytest.raises(PeopleError):
        index.name("beta", split.id, "ann")
    index.remove("beta", "c.jpg")
    index.assign("beta", "d.jpg", [_face("d.jpg", 0.5)])
    assert {p.name for p in index.people("beta")} == {"Ann", "Bo"}

    merged = index.merge("beta", "Ann", ["Bo"])
    assert merged.name == "Ann" and merged.photos == 3
    index.close()


def test_the_ids_of_people_merged_away_still_find_who_they_are_now(tmp_path: Path) -> None:
    """Records keep the PersonId they were given; after a merge (by a user, or by a face
    between two people) `people show` with that id shows the person it became."""
    db = db_of(tmp_path)
    index = SQLitePeopleIndex(db, threshold=0.6)
    (a,) = index.assign("beta", "a.jpg", [_face("a.jpg", 0.0)])
    (b,) = index.assign("beta", "b.jpg", [_face("b.jpg", 1.0)])
    (c,) = index.assign("beta", "c.jpg", [_face("c.jpg", 3.0)])
    (bridge,) = index.assign("beta", "ab.jpg", [_face("ab.jpg", 0.5)])  # merges b into a
    assert bridge == a and index.find("beta", b).id == a
    index.name("beta", c, "Cy")
    index.merge("beta", "Cy", [a])  # a, and b through it, become Cy
    for old in (a, b, c, b.lower()):
        assert index.find("beta", old).id == c
    assert index.photos_of("beta", b) == ["a.jpg", "ab.jpg", "b.jpg", "c.jpg"]
    with pytest.raises(PeopleError):
        index.find("prod", a)  # ids belong to their environment
    index.close()

    shown = eventlens(tmp_path, "people", "show", b, "--env", "beta")
    assert shown.returncode == 0, shown.stderr
    assert f"{b} was merged into {c}" in shown.stdout and "Cy: 4 photos" in shown.stdout
    as_json = eventlens(tmp_path, "people", "show", a, "--env", "beta", "--json")
    assert json.loads(as_json.stdout)["id"] == c

    # the person merged into is gone with their last photo: the old ids are gone too
    index = SQLitePeopleIndex(db, threshold=0.6)
    for key in ("a.jpg", "ab.jpg", "b.jpg", "c.jpg"):
        index.remove("beta", key)
    with pytest.raises(PeopleError):
        index.find("beta", a)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM people_merged").fetchone()[0] == 0
    index.close()
    assert eventlens(tmp_path, "people", "show", a, "--env", "beta").returncode == 1
