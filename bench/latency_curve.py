"""Issue 23's latency curve: the watcher's file closed → record p50 and p99 against the arrival
rate, each point the median of several runs with its spread, drawn as SVG (matplotlib: the
``bench`` extra) into docs/images/latency-rate.svg.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/latency_curve.py                 # 1, 2, 5, 10, 20 img/s and a burst
    .venv/bin/python bench/latency_curve.py --redraw        # bench/out/latency-curve.json again

Each run starts ``eventlens run`` on a fresh folder (as ``bench/run.py --only latency`` does),
waits for a warm-up file (model load), then for each rate copies ``--images`` 12-MP JPEGs into
it one per 1/rate seconds (as ``cp`` does), waits for their records and an idle second, and
goes on to the next rate; the burst copies them back to back. One image's floor time and the
floor's all-core rate are measured before each run's watcher starts, and the floor's own close
→ done time of each file (``bench.run.ideal_latencies``: the same arrivals at the floor's rate
on every core) is drawn beside the watcher's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import corpus
from bench.run import (
    BETA,
    EVENTLENS,
    FLOOR_BATCHES,
    OUT,
    _drop,
    _drop_and_wait,
    _latencies,
    ideal_latencies,
    measure_floor,
    one_image_floor_times,
    percentile,
)

IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
BURST = 0.0  # the rate of a burst: every file copied back to back
RATES = (1.0, 2.0, 5.0, 10.0, 20.0, BURST)


@dataclass(frozen=True, slots=True)
class Sample:
    """One rate in one run: close → record p50 / p99, the floor's own p50 / p99, in ms."""

    p50: float
    p99: float
    ideal_p50: float
    ideal_p99: float
    load: float  # 1-minute load average when its first file was copied
    #: each file's close (s after the first) and close → record (ms), in arrival order: the
    #: floor's own times can be worked out again from these (``bench.run.ideal_latencies``)
    closed_s: list[float] = dataclasses.field(default_factory=list)
    latencies: list[float] = dataclasses.field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Run:
    floor_ms: float  # one image's floor, median, before the watcher started
    floor_rate: float  # the floor's all-core rate, images per second
    samples: dict[str, Sample]  # rate label -> figures


def label(rate: float) -> str:
    return "burst" if rate == BURST else f"{rate:g}"


def one_run(files: list[Path], rates: list[float], images: int, floor_images: int = 20) -> Run:
    """One watcher, every rate in turn, ``images`` distinct files each (``files`` holds one
    warm-up file and ``images`` per rate)."""
    floor_ms = statistics.median(one_image_floor_times(files[:floor_images]))
    floor_rate = measure_floor(files[: FLOOR_BATCHES["classifier"] * (os.cpu_count() or 1)]).rate
    root = OUT / "latency-curve-root"
    if root.exists():
        shutil.rmtree(root)
    (root / BETA).mkdir(parents=True)
    db = root / ".eventlens" / "eventlens.db"
    proc = subprocess.Popen([EVENTLENS, "run", "--root", str(root)], stdout=subprocess.DEVNULL)
    samples: dict[str, Sample] = {}
    try:
        _drop_and_wait(files[0], root / BETA / "warm.jpg", db, timeout=120)  # model load
        for n, rate in enumerate(rates):
            time.sleep(1.0)  # the watcher idle, the previous rate's records all in
            batch = files[1 + n * images : 1 + (n + 1) * images]
            load = os.getloadavg()[0]
            closed: dict[str, float] = {}
            start = time.monotonic()
            for i, path in enumerate(batch):
                if rate != BURST:
                    time.sleep(max(0.0, start + i / rate - time.monotonic()))
                closed.update(_drop(path, root / BETA / f"r{label(rate)}-{i:04d}{path.suffix}"))
            measured = _latencies(closed, db)
            ideal = ideal_latencies(list(closed.values()), floor_ms, floor_rate)
            first = min(closed.values())
            samples[label(rate)] = Sample(
                percentile(measured, 50), percentile(measured, 99),
                percentile(ideal, 50), percentile(ideal, 99), load,
                [round(at - first, 4) for at in closed.values()], [round(ms, 1) for ms in measured],
            )  # fmt: skip
            print(f"    {label(rate):>5}: {describe(samples[label(rate)])}", flush=True)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    return Run(floor_ms, floor_rate, samples)


def describe(sample: Sample) -> str:
    return (
        f"p50 {sample.p50:.0f} / p99 {sample.p99:.0f} ms "
        f"(the floor's own {sample.ideal_p50:.0f} / {sample.ideal_p99:.0f}), load {sample.load:.1f}"
    )


def spread(runs: list[Run], key: str, field: str) -> tuple[float, float, float]:
    """The median over the runs, and its min and max."""
    values = [getattr(run.samples[key], field) for run in runs]
    return statistics.median(values), min(values), max(values)


def summary(runs: list[Run], rates: list[float]) -> list[str]:
    floors = [r.floor_ms for r in runs]
    lines = [
        f"one image's floor {statistics.median(floors):.1f} ms (runs {min(floors):.1f}-"
        f"{max(floors):.1f}); the floor's all-core rate "
        f"{statistics.median(r.floor_rate for r in runs):.1f} img/s"
    ]
    for rate in rates:
        key = label(rate)
        row = [f"{key:>5}:"]
        for field in ("p50", "p99", "ideal_p50", "ideal_p99"):
            median, low, high = spread(runs, key, field)
            row.append(f"{field} {median:.0f} ({low:.0f}-{high:.0f})")
        loads = [run.samples[key].load for run in runs]
        lines.append(" ".join(row) + f" ms; load {min(loads):.1f}-{max(loads):.1f}")
    return lines


def draw(runs: list[Run], rates: list[float], images: int, path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    keys = [label(r) for r in rates]
    xs = list(range(len(keys)))
    figure, axes = plt.subplots(figsize=(6.4, 3.8))
    lines: list[tuple[str, str, dict[str, Any]]] = [
        ("p50", "watcher p50", {"marker": "o"}),
        ("p99", "watcher p99", {"marker": "s"}),
        ("ideal_p50", "the floor's own p50", {"linestyle": ":", "color": "grey"}),
    ]
    for field, name, style in lines:
        figures = [spread(runs, key, field) for key in keys]
        medians = [m for m, _, _ in figures]
        low = [m - lo for m, lo, _ in figures]
        high = [hi - m for m, _, hi in figures]
        axes.errorbar(xs, medians, yerr=[low, high], capsize=4, label=name, **style)
    floor = statistics.median(r.floor_ms for r in runs)
    axes.axhline(floor, color="green", linewidth=0.8, label=f"one image's floor ({floor:.0f} ms)")
    axes.set_yscale("log")
    bottom, top = axes.get_ylim()
    ticks = [t for t in (50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000) if bottom <= t <= top]
    axes.set_yticks(ticks, [f"{t:g}" for t in ticks])
    axes.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes.set_xticks(xs, [k if k == "burst" else f"{k}/s" for k in keys])
    axes.set_xlabel(f"arrival rate ({images} 12-MP JPEGs per point)")
    axes.set_ylabel("file closed -> record (ms)")
    loads = [sample.load for run in runs for sample in run.samples.values()]
    axes.set_title(
        f"eventlens run (watching), 2 cores, load {min(loads):.1f}-{max(loads):.1f}\n"
        f"(median of {len(runs)} runs, bars: min to max)",
        fontsize=10,
    )
    axes.grid(True, alpha=0.3, which="both")
    axes.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, metadata={"Date": None})
    plt.close(figure)


def runs_from(saved: dict[str, Any]) -> list[Run]:
    """The saved runs, the floor's own times worked out again from each file's close."""
    runs = []
    for r in saved["runs"]:
        samples = {}
        for key, figures in r["samples"].items():
            sample = Sample(**figures)
            if sample.closed_s:
                ideal = ideal_latencies(sample.closed_s, r["floor_ms"], r["floor_rate"])
                sample = dataclasses.replace(
                    sample, ideal_p50=percentile(ideal, 50), ideal_p99=percentile(ideal, 99)
                )
            samples[key] = sample
        runs.append(Run(r["floor_ms"], r["floor_rate"], samples))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", default="1,2,5,10,20,burst", help="images per second")
    parser.add_argument("--images", type=int, default=30, help="files per rate")
    parser.add_argument("--runs", type=int, default=3, help="runs per point")
    parser.add_argument("--out", type=Path, default=IMAGES / "latency-rate.svg")
    parser.add_argument(
        "--redraw", action="store_true", help="draw bench/out/latency-curve.json again"
    )
    args = parser.parse_args()
    saved_path = OUT / "latency-curve.json"
    if args.redraw:
        saved = json.loads(saved_path.read_text())
        runs, rates, images = runs_from(saved), saved["rates"], saved["images"]
    else:
        rates = [BURST if r == "burst" else float(r) for r in args.rates.split(",")]
        images = args.images
        files = corpus.build(OUT / "corpus", 1 + len(rates) * images, 0)
        runs = []
        for i in range(args.runs):
            print(f"  run {i + 1} of {args.runs}:", flush=True)
            runs.append(one_run(files, rates, images))
        OUT.mkdir(exist_ok=True)
        saved = {"rates": rates, "images": images, "runs": [asdict(r) for r in runs]}
        saved_path.write_text(json.dumps(saved, indent=1))
    print("\n".join(summary(runs, rates)))
    draw(runs, rates, images, args.out)


if __name__ == "__main__":
    main()
