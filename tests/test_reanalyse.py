"""A model or analyzer change re-analyses: the reconcile at start queues every record made by
another configuration (newest first), and ``eventlens reanalyse`` re-runs an explicit choice.
Real ``eventlens`` processes on a real folder and database."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from tests.images import jpeg, write
from tests.processes import BETA, EVENTLENS, Runner, db_of, rows

SAMPLES = Path(__file__).resolve().parent.parent / "src" / "eventlens" / "samples"
ONE_LANE = {"EVENTLENS_WORKERS": "1"}  # one lane and batches of one: the audit log's order is
# the order the queue handed the files out


def eventlens(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EVENTLENS, *args], capture_output=True, text=True, timeout=300,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )  # fmt: skip


def run_once(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = eventlens("run", "--once", "--root", str(root), "--batch-size", "1", *args,
                     env={**ONE_LANE, **(env or {})})  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def audited_keys(log: Path) -> list[str]:
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    return [str(line["key"]).removeprefix(BETA) for line in lines if line["action"] == "stored"]


def test_an_analyzer_change_reanalyses_every_record_newest_first(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    beta = root / BETA
    for name, colour in (("old.jpg", (200, 0, 0)), ("mid.jpg", (0, 200, 0)),
                         ("new.jpg", (0, 0, 200))):  # fmt: skip
        write(beta / name, jpeg(colour))
        assert "1 stored" in run_once(root, "--analyzers", "image_properties", "--create")
    first = rows(root)
    assert set(first) == {"old.jpg", "mid.jpg", "new.jpg"}
    assert all(r["model_version"] == "image_properties=image-properties/1" for r in first.values())

    # nothing changed: nothing to do
    assert "nothing to do" in run_once(root, "--analyzers", "image_properties")

    # another analyzer set: every record again, the newest record first, with the reason
    audit = tmp_path / "audit.jsonl"
    out = run_once(root, "--analyzers", "image_properties,duplicates", "--audit-log", str(audit))
    assert "re-analysing 3 records made with another model or analyzer set" in out
    assert "3 stored" in out
    assert audited_keys(audit) == ["new.jpg", "mid.jpg", "old.jpg"]
    second = rows(root)
    for key, record in second.items():
        assert str(record["model_version"]).startswith("image_properties=image-properties/1;"
                                                       "duplicates="), key  # fmt: skip
        assert str(record["timestamp"]) > str(first[key]["timestamp"])
    assert "nothing to do" in run_once(root, "--analyzers", "image_properties,duplicates")

    # turned off: the records stay as they are
    out = run_once(root, "--analyzers", "image_properties",
                   env={"EVENTLENS_REANALYSE_ON_CHANGE": "0"})  # fmt: skip
    assert "nothing to do" in out
    assert rows(root) == second


def test_a_watching_runner_reanalyses_after_a_model_change(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    write(root / BETA / "a.jpg", jpeg((10, 120, 30)))
    run_once(root, "--analyzers", "image_properties", "--create")
    before = rows(root)["a.jpg"]
    with Runner(root, "--analyzers", "image_properties,duplicates") as runner:
        runner.wait_for_log("ok rekognition-input/beta/a.jpg")
        assert runner.stop() == 0
    after = rows(root)["a.jpg"]
    assert before["model_version"] == "image_properties=image-properties/1"
    assert str(after["model_version"]).startswith("image_properties=image-properties/1;duplicates=")
    assert after["sha256"] == before["sha256"]


def labelled_bucket(tmp_path: Path) -> Path:
    """The bundled samples, analysed by the label model: the cat in two folders."""
    root = tmp_path / "bucket"
    beta = root / BETA
    beta.mkdir(parents=True)
    shutil.copy(SAMPLES / "beta" / "tabby-cat.jpg", beta / "tabby-cat.jpg")
    shutil.copy(SAMPLES / "beta" / "coffee cup.jpg", beta / "coffee cup.jpg")
    (beta / "holiday").mkdir()
    shutil.copy(SAMPLES / "beta" / "tabby-cat.jpg", beta / "holiday" / "cat.jpg")
    shutil.copy(SAMPLES / "prod" / "astronaut.jpg", beta / "holiday" / "astronaut.jpg")
    assert "4 stored" in run_once(root)
    return root


def test_reanalyse_by_label_and_by_folder(tmp_path: Path) -> None:
    root = labelled_bucket(tmp_path)
    before = rows(root)
    assert "Cat" in str(before["tabby-cat.jpg"]["labels"])

    done = eventlens("reanalyse", "--root", str(root), "--label", "cat", env=ONE_LANE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "queued 2 records for re-analysis" in done.stdout
    assert "2 stored" in done.stdout
    after = rows(root)
    changed = {k for k in after if after[k]["timestamp"] != before[k]["timestamp"]}
    assert changed == {"tabby-cat.jpg", "holiday/cat.jpg"}

    done = eventlens("reanalyse", "--root", str(root), "--prefix", "holiday/", env=ONE_LANE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "queued 2 records" in done.stdout
    latest = rows(root)
    changed = {k for k in latest if latest[k]["timestamp"] != after[k]["timestamp"]}
    assert changed == {"holiday/cat.jpg", "holiday/astronaut.jpg"}


def test_reanalyse_needs_a_choice_and_can_only_queue(tmp_path: Path) -> None:
    root = labelled_bucket(tmp_path)
    refused = eventlens("reanalyse", "--root", str(root))
    assert refused.returncode == 2
    assert "say which records: --label, --prefix, or --all" in refused.stderr
    unknown = eventlens("reanalyse", "--root", str(root), "--all", "--env", "gamma")
    assert unknown.returncode == 2
    assert "unknown environment 'gamma'" in unknown.stderr

    before = rows(root)
    queued = eventlens("reanalyse", "--root", str(root), "--all", "--queue-only")
    assert queued.returncode == 0, queued.stderr
    assert "queued 4 records" in queued.stdout
    assert rows(root) == before  # nothing analysed yet
    with sqlite3.connect(db_of(root)) as conn:
        keys = {k for (k,) in conn.execute("SELECT key FROM intake")}
    assert keys == {BETA + k for k in before}
    # the running pipeline analyses them although the files and the model are unchanged
    out = run_once(root)
    assert "4 stored" in out
    assert all(rows(root)[k]["timestamp"] > before[k]["timestamp"] for k in before)
