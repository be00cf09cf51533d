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


@pytest.mark.skipif(
    not (people.is_available() and blazeface.is_available()),
    reason="the default's person and face detectors are not installed",
)
def test_naive_script_and_run_once_label_the_same_images_and_are_compared(tmp_path: Path) -> None:
    from bench.run import measure_versus_naive, naive_rows

    files = [
        write(tmp_path / "a.jpg", encode(photo_like(1200, 900, seed=1), "JPEG")),
        write(tmp_path / "b.png", encode(photo_like(300, 500, seed=2), "PNG")),
        write(tmp_path / "c.jpg", encode(photo_like(640, 480, seed=3), "JPEG")),
    ]
    versus = measure_versus_naive(files)
    lines = [line.split("\t") for line in versus.naive.stdout.splitlines()]
    assert [fields[0] for fields in lines] == ["a.jpg", "b.png", "c.jpg"]
    for _name, top, probability, person, face in lines:
        assert 0 <= int(top) < 1000
        assert all(0.0 <= float(score) <= 1.0 for score in (probability, person, face))
    assert versus.records_ok == 3
    assert versus.naive.cpu_s > 0 and versus.once.cpu_s > 0
    rows = naive_rows(versus)
    assert [row[0] for row in rows] == [
        "naive script: 3 images (full decode, 3 sessions, one at a time)",
        "naive: run --once on the same 3 images",
        "naive: run --once / naive script, throughput",
        "naive: naive script / run --once, CPU per image",
    ]
    naive_cpu, once_cpu = versus.cpu_ms()
    assert rows[3][1] == f"{naive_cpu / once_cpu:.2f}"
    assert rows[3][3] == ("met" if naive_cpu / once_cpu >= 5 else "MISSED")


@pytest.mark.skipif(
    not (people.is_available() and blazeface.is_available()),
    reason="the default's person and face detectors are not installed",
)
def test_latency_times_steady_arrivals_and_a_burst_against_one_images_floor(
    tmp_path: Path,
) -> None:
    from bench.run import latency_rows, measure_latency

    files = [
        write(tmp_path / f"{i}.jpg", encode(photo_like(800, 600, seed=10 + i), "JPEG"))
        for i in range(8)
    ]
    latency = measure_latency(files, steady=3, burst=4, interval_s=0.5, floor_images=3)
    assert len(latency.steady) == 3 and len(latency.burst) == 4
    assert latency.floor_ms > 0 and latency.watcher_cpu_s > 0
    # the floor is taken on both sides of the drops, and is the median of both
    before, after = latency.floor_before_ms, latency.floor_after_ms
    assert before > 0 and after > 0
    assert min(before, after) <= latency.floor_ms <= max(before, after)
    # a record is written after its file is closed, and the burst's last one after the rest
    assert all(ms > 0 for ms in latency.steady + latency.burst)
    assert latency.burst_span_s >= max(latency.burst) / 1000 - 0.001
    rows = latency_rows(latency)
    assert [row[0] for row in rows] == [
        "watch: one image's floor time (median, 1 model thread)",
        "watch, 1 image per 0.5 s: file closed -> record p50 / p99 (3 files)",
        "watch, 1 image per 0.5 s: p50 / one image's floor",
        "watch, 1 image per 0.5 s: p99 / one image's floor",
        "watch, a burst of 4: file closed -> record p50 / p99 (4 files)",
        "watch, a burst of 4: p50 / one image's floor",
        "watch, a burst of 4: p99 / one image's floor",
        "watch, a burst of 4: the floor's own close -> done p50 / p99",
        "watch, a burst of 4: the floor's own p50 / p99 over one image's floor",
        "watch, a burst of 4: p50 / the floor's own p50",
        "watch, a burst of 4: p99 / the floor's own p99",
        "watch, a burst of 4: first file closed -> last record",
        "watch: the watcher's CPU time per image (start-up included)",
    ]
    burst_p99 = sorted(latency.burst)[-1]
    assert rows[6][1] == f"{burst_p99 / latency.floor_ms:.2f}"
    # the floor's own time for each burst file: never under one image's floor
    assert latency.floor_rate > 0 and len(latency.burst_ideal) == 4
    assert all(ms >= latency.floor_ms - 1e-9 for ms in latency.burst_ideal)
    assert rows[10][1] == f"{burst_p99 / sorted(latency.burst_ideal)[-1]:.2f}"


def test_the_floors_own_burst_latency_works_the_files_off_in_arrival_order() -> None:
    from bench.run import ideal_latencies

    # the floor does 10 images/s on all cores; one image alone takes 150 ms
    at_once = ideal_latencies([0.0] * 5, 150.0, 10.0)
    assert at_once == pytest.approx([150, 250, 350, 450, 550])
    # arrivals a second apart never queue: one image's floor each, even when a busy machine
    # makes the all-core rate slower than one image alone
    assert ideal_latencies([0.0, 1.0, 2.0], 150.0, 10.0) == pytest.approx([150] * 3)
    assert ideal_latencies([0.0, 1.0], 150.0, 5.0) == pytest.approx([150] * 2)
    # a late arrival waits for the backlog still there when it came
    assert ideal_latencies([0.0, 0.0, 0.0, 0.25], 50.0, 10.0) == pytest.approx([50, 150, 250, 100])
