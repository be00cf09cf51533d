"""``bench/curves.py``: each point is a real ``run --once`` with its steady-state rate and its
CPU less start-up, and the curves are drawn as SVG."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from tests.images import encode, photo_like, write


def test_a_point_is_a_real_run_with_start_up_cpu_taken_out(tmp_path: Path) -> None:
    from bench.curves import StartUp, once

    files = [
        write(tmp_path / f"{i}.jpg", encode(photo_like(640, 480, seed=20 + i), "JPEG"))
        for i in range(6)
    ]
    empty = once([], None)
    assert empty.images == 0 and empty.cpu_ms > 0  # start-up and model load cost CPU
    run = once(files, "0", StartUp(empty.wall_s, empty.cpu_ms / 1000))  # pinned to one core
    assert run.images == 6
    assert run.rate == pytest.approx(6 / run.wall_s)
    assert run.load == pytest.approx(os.getloadavg()[0], abs=5)  # not the wall time
    with_start_up = once(files, "0")
    # start-up's CPU, spread over 6 images, is far more than two runs of the same 6 differ by
    assert with_start_up.cpu_ms - run.cpu_ms > 0.5 * empty.cpu_ms / 6


@pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None,
    reason="matplotlib not installed: pip install -e '.[bench]'",
)
def test_curves_are_drawn_as_svg_with_their_spread(tmp_path: Path) -> None:
    from bench.curves import Point, Run, draw

    def point(x: float, rates: list[float]) -> Point:
        return Point(x, [Run(10, rate, 30.0, wall_s=2.0, load=1.0) for rate in rates])

    points = [point(0.3, [40.0, 44.0, 41.0]), point(12.0, [17.0, 18.5, 16.0])]
    assert points[0].median_rate() == 41.0
    svg = tmp_path / "curve.svg"
    draw(points, "megapixels", "a title", svg, log_x=True)
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert "megapixels" in text


@pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None,
    reason="matplotlib not installed: pip install -e '.[bench]'",
)
def test_the_latency_curve_times_a_real_watcher_at_each_rate_and_draws_it(tmp_path: Path) -> None:
    from bench.latency_curve import BURST, draw, one_run, summary

    files = [
        write(tmp_path / f"{i}.jpg", encode(photo_like(800, 600, seed=40 + i), "JPEG"))
        for i in range(5)
    ]
    run = one_run(files, [5.0, BURST], images=2, floor_images=2)
    assert list(run.samples) == ["5", "burst"]
    assert run.floor_ms > 0 and run.floor_rate > 0
    for sample in run.samples.values():
        # a record comes after its file's close, and the floor's own time is at least its floor
        assert 0 < sample.p50 <= sample.p99
        assert run.floor_ms <= sample.ideal_p50 <= sample.ideal_p99
    runs = [run, run, run]
    assert summary(runs, [5.0, BURST])[1].startswith("    5: p50 ")
    svg = tmp_path / "latency.svg"
    draw(runs, [5.0, BURST], 2, svg)
    text = svg.read_text()
    assert "<svg" in text and "burst" in text and "arrival rate" in text
