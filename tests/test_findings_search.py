from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from eventlens.cli.main import app
from eventlens.results.base import Query
from eventlens.results.finding_terms import ANY, finding_terms
from eventlens.results.record import Record
from eventlens.results.sqlite import SQLiteResultStore
from eventlens.routing import DEFAULT_ROUTES

BETA = "rekognition-input/beta/"
TABLES = {r.environment: r.table for r in DEFAULT_ROUTES}


def text(*lines: str) -> dict[str, object]:
    detections: list[dict[str, object]] = []
    for i, line in enumerate(lines):
        detections.append({"DetectedText": line, "Type": "LINE", "Id": i, "Confidence": 97.0})
        detections += [
            {"DetectedText": w, "Type": "WORD", "ParentId": i, "Confidence": 96.0}
            for w in line.split()
        ]
    return {"TextDetections": detections}


def records() -> list[Record]:
    person = [{"Name": "Person", "Confidence": 90.0, "Parents": [], "Instances": []}]
    return [
        Record(
            BETA + "receipt.jpg", "beta", labels=[{"Name": "Paper", "Confidence": 80.0}],
            findings={"text": text("INVOICE 4711", "Total due"), "faces": {"FaceDetails": []}},
        ),
        Record(
            BETA + "portrait.jpg", "beta", labels=person,
            findings={
                "faces": {"FaceDetails": [{"Confidence": 99.5}, {"Confidence": 97.0}]},
                "moderation": {"ModerationLabels": [
                    {"Name": "Suggestive", "Confidence": 70.0, "ParentName": ""},
                    {"Name": "Revealing Clothes", "Confidence": 70.0, "ParentName": "Suggestive"},
                ]},
            },
        ),
        Record(
            BETA + "portrait-copy.jpg", "beta", labels=person,
            findings={
                "faces": {"FaceDetails": [{"Confidence": 99.0}]},
                "duplicates": {"DuplicateOf": BETA + "portrait.jpg", "Exact": True},
                "image_properties": {"DominantColors": [
                    {"SimplifiedColor": "red", "CSSColor": "firebrick", "PixelPercent": 40.0},
                    {"SimplifiedColor": "blue", "CSSColor": "navy", "PixelPercent": 30.0},
                    {"SimplifiedColor": "red", "CSSColor": "crimson", "PixelPercent": 10.0},
                    {"SimplifiedColor": None, "PixelPercent": "not a number"},
                ]},
            },
        ),
    ]  # fmt: skip


def keys(found: list[Record]) -> set[str]:
    return {r.filename.removeprefix(BETA) for r in found}


def test_terms_cover_text_faces_moderation_and_duplicates() -> None:
    receipt, portrait, copy = records()
    assert sorted(finding_terms(receipt)) == [
        ("text", "4711", 96.0), ("text", "due", 96.0), ("text", "invoice", 96.0),
        ("text", "invoice 4711", 97.0), ("text", "total", 96.0), ("text", "total due", 97.0),
    ]  # fmt: skip
    assert ("faces", "face", 99.5) in finding_terms(portrait)
    assert ("moderation", "Revealing Clothes", 70.0) in finding_terms(portrait)
    assert ("duplicate", BETA + "portrait.jpg", 100.0) in finding_terms(copy)
    colors = {(v, c) for kind, v, c in finding_terms(copy) if kind == "color"}
    assert colors == {("red", 50.0), ("firebrick", 40.0), ("crimson", 10.0), ("blue", 30.0),
                      ("navy", 30.0)}  # fmt: skip


def test_queries_combine_labels_and_findings(tmp_path: Path) -> None:
    with SQLiteResultStore(tmp_path / "r.db", TABLES) as store:
        for record in records():
            store.put(record)
        assert keys(store.query(Query("beta", findings=(("text", "invoice"),)))) == {"receipt.jpg"}
        assert keys(store.query(Query("beta", findings=(("text", "INVOICE"),)))) == {"receipt.jpg"}
        assert store.query(Query("beta", findings=(("text", "invoic"),))) == []
        assert keys(store.query(Query("beta", findings=(("faces", ANY),)))) == {
            "portrait.jpg",
            "portrait-copy.jpg",
        }
        assert keys(store.query(Query("beta", findings=(("moderation", "suggestive"),)))) == {
            "portrait.jpg"
        }
        both = Query("beta", label="Person", findings=(("faces", ANY), ("duplicate", ANY)))
        assert keys(store.query(both)) == {"portrait-copy.jpg"}
        # rewriting a record replaces its terms
        receipt = records()[0]
        receipt.findings = {"text": text("PAID")}
        store.put(receipt)
        assert store.query(Query("beta", findings=(("text", "invoice"),))) == []
        assert keys(store.query(Query("beta", findings=(("text", "paid"),)))) == {"receipt.jpg"}
        assert store.delete("beta", BETA + "receipt.jpg")
        assert store.query(Query("beta", findings=(("text", "paid"),))) == []


def test_an_older_database_is_indexed_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with SQLiteResultStore(path, TABLES) as store:
        for record in records():
            store.put(record)
    conn = sqlite3.connect(path)
    conn.execute('DROP TABLE "beta_results_findings"')
    conn.commit()
    conn.close()
    with SQLiteResultStore(path, TABLES) as store:
        assert keys(store.query(Query("beta", findings=(("text", "total"),)))) == {"receipt.jpg"}


def test_cli_search_by_text_faces_and_moderation(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with SQLiteResultStore(db, TABLES) as store:
        for record in records():
            store.put(record)
    runner = CliRunner()

    def search(*args: str) -> set[str]:
        result = runner.invoke(
            app, ["results", "search", "--env", "beta", "--db", str(db), "--json", *args]
        )
        assert result.exit_code == 0, result.output
        return {r["filename"].removeprefix(BETA) for r in json.loads(result.output)}

    assert search("--text", "Invoice") == {"receipt.jpg"}
    assert search("--faces") == {"portrait.jpg", "portrait-copy.jpg"}
    assert search("--moderation", "any") == {"portrait.jpg"}
    assert search("--label", "person", "--duplicates") == {"portrait-copy.jpg"}
    assert search("--label", "Paper") == {"receipt.jpg"}
    assert search("--color", "RED") == search("--color", "navy") == {"portrait-copy.jpg"}
    assert search("--color", "green") == set()
    bare = runner.invoke(app, ["results", "search", "--env", "beta", "--db", str(db)])
    assert bare.exit_code == 2


def test_findings_summary_for_the_table() -> None:
    from eventlens.cli.render import findings_summary

    receipt, portrait, copy = records()
    assert findings_summary(receipt) == 'text "INVOICE 4711 / Total due"'
    assert findings_summary(portrait) == "2 faces; [yellow]moderation: Suggestive[/yellow]"
    assert findings_summary(copy) == f"1 face; duplicate of {BETA}portrait.jpg"


def test_unexpected_finding_shapes_are_tolerated() -> None:
    odd = Record(
        BETA + "odd.jpg", "beta",
        findings={"faces": [{"Confidence": 91.0}], "text": "oops", "moderation": {"x": 1},
                  "duplicates": ["not", "a", "dict"]},
    )  # fmt: skip
    assert finding_terms(odd) == [("faces", "face", 91.0)]
    from eventlens.cli.render import findings_summary

    assert findings_summary(odd) == "1 face"


def test_matches_is_the_same_filter_for_stores_without_an_index() -> None:
    from eventlens.results.finding_terms import matches

    receipt, portrait, copy = records()
    assert matches(receipt, ()) and matches(receipt, (("text", "TOTAL"),))
    assert not matches(receipt, (("faces", ANY),))
    assert matches(portrait, (("faces", ANY), ("moderation", "revealing clothes")))
    assert not matches(portrait, (("duplicate", ANY),))
    assert matches(copy, (("duplicate", BETA + "portrait.jpg"),))
