"""The command line, end to end with the real bundled model on real photos."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventlens.cli.main import app
from eventlens.events.base import ObjectEvent
from eventlens.intake import IntakeQueue
from tests.images import write

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parent.parent / "src" / "eventlens" / "samples"
BETA = "rekognition-input/beta/"


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    code, output = invoke("demo", "--root", str(root))
    assert code == 0, output
    assert "4 stored" in output
    return root


def test_demo_labels_the_bundled_samples(demo_root: Path) -> None:
    code, output = invoke(
        "results",
        "get",
        "--env",
        "beta",
        "--root",
        str(demo_root),
        "--json",
        BETA + "tabby-cat.jpg",
    )
    assert code == 0
    record = json.loads(output)
    names = [label["Name"] for label in record["labels"]]
    assert "Cat" in names and record["status"] == "ok"
    cat = next(label for label in record["labels"] if label["Name"] == "Cat")
    assert {"Mammal", "Animal"} <= {p["Name"] for p in cat["Parents"]}
    assert record["analysis_method"] == "bundled-efficientnet-lite0"
    assert record["label_count"] == len(record["labels"])


def test_results_list_and_search(demo_root: Path) -> None:
    code, output = invoke("results", "list", "--env", "prod", "--root", str(demo_root), "--json")
    assert code == 0
    keys = sorted(r["filename"] for r in json.loads(output))
    assert keys == [
        "rekognition-input/prod/astronaut.jpg",
        "rekognition-input/prod/rocket+launch.jpg",
    ]
    code, output = invoke(
        "results", "search", "--env", "beta", "--label", "cat", "--root", str(demo_root), "--json"
    )
    assert code == 0
    assert [r["filename"] for r in json.loads(output)] == [BETA + "tabby-cat.jpg"]
    code, output = invoke("results", "list", "--env", "beta", "--root", str(demo_root))
    assert code == 0 and "coffee cup.jpg" in output


def test_validate_passes_for_ok_records_and_names_missing_ones(demo_root: Path) -> None:
    code, _ = invoke(
        "validate",
        "--env",
        "beta",
        "--root",
        str(demo_root),
        "--timeout",
        "1",
        "tabby-cat.jpg",
        BETA + "coffee cup.jpg",
    )
    assert code == 0
    code, output = invoke(
        "validate",
        "--env",
        "beta",
        "--root",
        str(demo_root),
        "--timeout",
        "0.5",
        "--interval",
        "0.1",
        "tabby-cat.jpg",
        "nope.jpg",
    )
    assert code == 1
    assert "missing: rekognition-input/beta/nope.jpg" in output


def test_validate_names_failed_records(tmp_path: Path) -> None:
    write(tmp_path / BETA / "broken.jpg", b"not an image at all")
    code, _ = invoke("run", "--once", "--root", str(tmp_path))
    assert code == 0
    code, output = invoke(
        "validate", "--env", "beta", "--root", str(tmp_path), "--timeout", "1", "broken.jpg"
    )
    assert code == 1
    assert "failed: rekognition-input/beta/broken.jpg: not an image" in output


def test_analyze_prints_detectlabels_json() -> None:
    code, output = invoke(
        "analyze",
        "--max-labels",
        "3",
        "--min-confidence",
        "20",
        str(SAMPLES / "beta" / "tabby-cat.jpg"),
    )
    assert code == 0
    result = json.loads(output)
    assert result["LabelModelVersion"]
    assert 1 <= len(result["Labels"]) <= 3
    assert all(label["Confidence"] >= 20 for label in result["Labels"])
    assert {"Name", "Confidence", "Parents", "Instances"} <= set(result["Labels"][0])


def test_analyze_reports_bad_files_and_exits_non_zero(tmp_path: Path) -> None:
    bad = write(tmp_path / "x.jpg", b"")
    code, output = invoke("analyze", str(bad), str(SAMPLES / "beta" / "tabby-cat.jpg"))
    assert code == 1
    first, second = json.loads(output)
    assert first["Error"] == "empty file (0 bytes)" and second["Labels"]


def test_dlq_list_retry_purge(tmp_path: Path) -> None:
    db = tmp_path / ".eventlens" / "eventlens.db"
    queue = IntakeQueue(db)
    queue.retry_policy = type(queue.retry_policy)(max_attempts=1)
    queue.enqueue(
        [ObjectEvent(str(tmp_path), BETA + "a.jpg"), ObjectEvent(str(tmp_path), BETA + "b.jpg")]
    )
    for job in queue.claim(10):
        assert queue.fail(job, "storage unreachable")
    queue.close()
    code, output = invoke("dlq", "list", "--root", str(tmp_path), "--json")
    assert code == 0
    letters = json.loads(output)
    assert sorted(d["key"] for d in letters) == [BETA + "a.jpg", BETA + "b.jpg"]
    assert letters[0]["error"] == "storage unreachable"
    code, output = invoke("dlq", "retry", "--root", str(tmp_path), str(letters[0]["id"]))
    assert code == 0 and "re-queued 1" in output
    code, output = invoke("dlq", "purge", "--root", str(tmp_path), "--yes")
    assert code == 0 and "purged 1" in output
    assert IntakeQueue(db).pending() == 1


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["run"],
        ["analyze"],
        ["results"],
        ["results", "list"],
        ["results", "search"],
        ["results", "get"],
        ["validate"],
        ["dlq"],
        ["models"],
        ["demo"],
    ],
)
def test_help_everywhere(command: list[str]) -> None:
    code, output = invoke(*command, "--help")
    assert code == 0 and "Usage" in output


def test_results_on_a_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["results", "list", "--env", "beta", "--root", str(tmp_path)])
    assert result.exit_code == 2
    assert "no results database" in result.output


def test_the_installed_console_script_runs() -> None:
    exe = Path(sys.executable).with_name("eventlens")
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True)
    assert "Event-driven image analysis" in out.stdout


def test_summaries_put_the_most_specific_label_first() -> None:
    from eventlens.cli.render import label_summary
    from eventlens.results.record import Record

    record = Record("k.jpg", "beta", labels=[
        {"Name": "Animal", "Confidence": 96.0, "Parents": []},
        {"Name": "Mammal", "Confidence": 95.0, "Parents": [{"Name": "Animal"}]},
        {"Name": "Cat", "Confidence": 94.0, "Parents": [{"Name": "Mammal"}, {"Name": "Animal"}]},
    ])  # fmt: skip
    assert label_summary(record) == "Cat 94%, Animal 96%, Mammal 95%"
    assert "no label above" in label_summary(Record("k.jpg", "beta"))
