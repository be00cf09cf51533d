"""``bench/run.py``'s label post-processing stage drives the analyzer's own steps (classify,
confidences, findings), and its floor runs every default model: a change to them must not leave
the benchmark broken."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from bench.run import _label_post_processing, bench_floor

from eventlens.analyzers.objects import blazeface, people
from tests.images import encode, photo_like, write


def test_label_post_processing_stage_labels_every_image() -> None:
    results: list[object] = []

    def timed(what: str, work: Callable[[], object]) -> tuple[str, str, str, str]:
        results.append(work())
        return (what, "", "", "")

    rows = _label_post_processing(3, timed)
    assert [row[0] for row in rows] == [
        "logits -> labels (scene labels ^0.4)",
        "logits -> labels (scene labels as summed)",
    ]
    for findings in results:
        assert isinstance(findings, list) and len(findings) == 3
        assert all(f["LabelModelVersion"].startswith("efficientnet-lite0") for f in findings)


@pytest.mark.skipif(
    not (people.is_available() and blazeface.is_available()),
    reason="the default's person and face detectors are not installed",
)
def test_floor_runs_every_default_model_and_reports_each_part(tmp_path: Path) -> None:
    files = [
        write(tmp_path / "a.jpg", encode(photo_like(1200, 900, seed=1), "JPEG")),
        write(tmp_path / "b.png", encode(photo_like(300, 500, seed=2), "PNG")),
        write(tmp_path / "c.jpg", encode(photo_like(640, 480, seed=3), "JPEG")),
    ]
    floor, rows = bench_floor(files)
    names = [part.name for part in floor.parts]
    assert names == [
        "decode",
        "classifier input",
        "person input",
        "face input",
        "classifier forward",
        "person detector forward",
        "face detector forward",
    ]
    assert floor.images == 3
    assert floor.person_graph in ("int8", "float")
    forward_cpu = [part.cpu_s for part in floor.parts if part.name.endswith("forward")]
    assert all(cpu > 0 for cpu in forward_cpu)
    # the process's CPU covers its parts (each thread's own measure)
    assert floor.cpu_ms >= sum(p.cpu_s for p in floor.parts) * 1000 / 3 * 0.95
    assert floor.rate > 0
    assert [row[0] for row in rows][3:] == [
        "floor part: decode",
        "floor part: classifier input",
        "floor part: person input",
        "floor part: face input",
        "floor part: classifier forward (batches of 16)",
        "floor part: person detector forward (batches of 1)",
        "floor part: face detector forward (batches of 1)",
    ]
    assert floor.person_graph in rows[0][3]


def test_flame_summary_counts_each_stack_in_its_part_and_leaves_waits_out() -> None:
    from bench.flame_summary import summarise

    raw = "\n".join(
        [
            "process 1;Thread.run (threading.py:1);Session.run (onnxruntime/x.py:406) 40",
            "process 1;_prepare (eventlens/pipeline.py:196) 5",
            "process 1;ImageInput.decode (eventlens/imaging.py:99);ImageFile.load (PIL/I.py:4) 50",
            "process 1;_worker (concurrent/futures/thread.py:81) 300",
            "process 1;something else (x.py:1) 5",
        ]
    )
    busy, parts = summarise(raw)
    assert busy == 100
    assert parts["ONNX Runtime forward passes"] == 40
    assert parts["decode"] == 50
    assert parts["sha256"] == 5
    assert parts["other"] == 5
    assert parts["(waiting)"] == 300


def test_cold_start_import_breakdown_reads_real_importtime_output() -> None:
    import subprocess
    import sys

    from bench.lambda_cold_start import import_breakdown

    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import json, email.message"],
        capture_output=True,
        text=True,
        check=True,
    )
    breakdown = import_breakdown(done.stderr, top=50)
    assert "json" in breakdown and "email" in breakdown  # submodules summed into their package
    assert "email.message" not in breakdown
    assert breakdown["(all)"] >= breakdown["json"] + breakdown["email"] > 0
