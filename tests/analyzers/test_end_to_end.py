"""Every analyzer wired by configuration, run on a bucket folder, found again by search."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from eventlens.cli.main import app
from tests.analyzers.test_faces import needs_weights
from tests.analyzers.test_text import needs_rapidocr, rendered
from tests.images import encode

av = pytest.importorskip("av", reason="PyAV is in the video and dev extras")
SAMPLES = Path(__file__).resolve().parents[2] / "src" / "eventlens" / "samples"
BETA = "rekognition-input/beta/"


def run_cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@needs_rapidocr
@needs_weights
@pytest.mark.skipif(importlib.util.find_spec("skimage") is None, reason="needs scikit-image")
def test_all_analyzers_from_config_then_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.analyzers.test_video import coffee_video

    root = tmp_path / "bucket"
    folder = root / BETA
    folder.mkdir(parents=True)
    astronaut = (SAMPLES / "prod" / "astronaut.jpg").read_bytes()
    (folder / "astronaut.jpg").write_bytes(astronaut)
    small = Image.open(SAMPLES / "prod" / "astronaut.jpg").resize((200, 200))
    (folder / "copies" / "astronaut-small.jpg").parent.mkdir()
    (folder / "copies" / "astronaut-small.jpg").write_bytes(encode(small, "JPEG", quality=40))
    (folder / "coffee cup.jpg").write_bytes((SAMPLES / "beta" / "coffee cup.jpg").read_bytes())
    (folder / "notice.png").write_bytes(rendered(["PARKING PERMIT", "Zone B"]))
    (folder / "clip.mp4").write_bytes(coffee_video())
    monkeypatch.setenv("EVENTLENS_ANALYZERS", "beta=labels,faces,text,duplicates,video")
    output = run_cli("run", "--once", "--root", str(root))
    assert "5 stored" in output

    def search(*args: str) -> set[str]:
        found = run_cli("results", "search", "--env", "beta", "--root", str(root), "--json", *args)
        return {r["filename"].removeprefix(BETA) for r in json.loads(found)}

    assert search("--faces") == {"astronaut.jpg", "copies/astronaut-small.jpg"}
    assert search("--text", "permit") == {"notice.png"}
    assert search("--duplicates") == {"copies/astronaut-small.jpg"}
    assert "coffee cup.jpg" in search("--label", "Coffee")
    record = json.loads(
        run_cli("results", "get", "--env", "beta", "--root", str(root), "--json", BETA + "clip.mp4")
    )
    assert record["status"] == "ok" and record["width"] == 320
    timestamps = {item["Timestamp"] for item in record["findings"]["video"]["Labels"]}
    assert timestamps == {0, 1000, 2000}
    assert "clip.mp4" in search("--label", "Coffee")  # a video's labels are searchable too
    assert set(record["findings"]) == {"video"}  # image analyzers skip videos
    portrait = json.loads(
        run_cli(
            "results",
            "get",
            "--env",
            "beta",
            "--root",
            str(root),
            "--json",
            BETA + "astronaut.jpg",
        )
    )
    assert set(portrait["findings"]) == {"faces", "text", "duplicates"}
    assert len(portrait["findings"]["faces"]["FaceDetails"]) == 1
    groups = json.loads(run_cli("duplicates", "--env", "beta", "--root", str(root), "--json"))
    assert [[m["Key"] for m in g] for g in groups] == [
        [BETA + "astronaut.jpg", BETA + "copies/astronaut-small.jpg"]
    ]


@needs_weights
def test_analyze_command_runs_any_analyzer_on_files(tmp_path: Path) -> None:
    photo = tmp_path / "astronaut.jpg"
    photo.write_bytes((SAMPLES / "prod" / "astronaut.jpg").read_bytes())
    output = json.loads(run_cli("analyze", "--analyzer", "faces", str(photo)))
    assert output["File"] == str(photo) and len(output["FaceDetails"]) == 1
    bad = CliRunner().invoke(app, ["analyze", "-a", "nope", str(photo)])
    assert bad.exit_code == 2 and "unknown analyzer" in bad.output
    dup = CliRunner().invoke(app, ["analyze", "-a", "duplicates", str(photo)])
    assert dup.exit_code == 2
