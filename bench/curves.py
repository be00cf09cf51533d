"""Issue 23's curves: ``eventlens run --once`` throughput against image size and against cores,
each point the median of several runs with its spread, drawn as SVG (matplotlib: the ``bench``
extra) into docs/images/.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/curves.py                      # 0.3, 3, 12 MP; 1 and 2 cores
    .venv/bin/python bench/curves.py --sizes 0.3,3,12,48 --runs 3

Throughput is end to end, start-up included (images over the process's wall time); CPU per
image is the process's user + sys time less the median CPU time of the same command on an
empty folder (imports, sessions, model load). Start-up's wall time cannot be taken out the same
way: the pipeline overlaps it with its first reads, and on one core the subtraction gave more
images per second than the CPU per image allows. (Nor can the records' timestamps give a
steady-state rate: a batch's records share one.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import corpus
from bench.run import EVENTLENS, OUT, link_corpus, run_child
from eventlens.results.sqlite import SQLiteResultStore

IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
#: megapixels -> (width, height), 4:3
SIZES = {0.3: (640, 480), 3.0: (2000, 1500), 12.0: (4000, 3000), 48.0: (8000, 6000)}
#: images per run at each size: enough for several seconds of steady state
COUNTS = {0.3: 300, 3.0: 200, 12.0: 120, 48.0: 30}
CORES = {1: "0", 2: "0,1"}  # taskset CPU lists


@dataclass(frozen=True, slots=True)
class Run:
    images: int
    rate: float  # images per second, end to end (start-up included)
    cpu_ms: float  # per image, start-up's CPU taken out
    wall_s: float  # the whole process
    load: float  # 1-minute load average when it started


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    runs: list[Run]

    def rates(self) -> list[float]:
        return [r.rate for r in self.runs]

    def median_rate(self) -> float:
        return statistics.median(self.rates())


@dataclass(frozen=True, slots=True)
class StartUp:
    """``run --once`` on an empty folder: imports, sessions, the person graph's check."""

    wall_s: float = 0.0
    cpu_s: float = 0.0


def once(files: list[Path], cpus: str | None, start_up: StartUp | None = None) -> Run:
    """``run --once`` over ``files`` (pinned to ``cpus`` with taskset if given), ``start_up``
    taken out of its figures."""
    start_up = start_up or StartUp()
    root = OUT / "curves-root"
    link_corpus(files, root)
    prefix = ["taskset", "-c", cpus] if cpus else []
    load = os.getloadavg()[0]
    timed = run_child([*prefix, EVENTLENS, "run", "--once", "--root", str(root)])
    if not files:
        return Run(0, 0.0, timed.cpu_s * 1000, wall_s=timed.wall_s, load=load)
    store = SQLiteResultStore(root / ".eventlens" / "eventlens.db", {"beta": "beta_results"})
    ok = sum(r.ok for r in store.iter_all("beta"))
    store.close()
    if ok != len(files):
        raise RuntimeError(f"{ok} records ok for {len(files)} files")
    rate = len(files) / timed.wall_s
    cpu_ms = (timed.cpu_s - start_up.cpu_s) * 1000 / len(files)
    return Run(len(files), rate, cpu_ms, wall_s=timed.wall_s, load=load)


def measure_start_up(cpus: str | None, runs: int) -> StartUp:
    empty = [once([], cpus) for _ in range(runs)]
    return StartUp(
        statistics.median(r.wall_s for r in empty),
        statistics.median(r.cpu_ms for r in empty) / 1000,
    )


def sized_files(megapixels: float) -> list[Path]:
    width, height = SIZES[megapixels]
    if (width, height) == (corpus.WIDTH, corpus.HEIGHT):  # bench/run.py's corpus: the same files
        return corpus.build(OUT / "corpus", COUNTS[megapixels], 0)
    folder = OUT / f"corpus-{width}x{height}"
    return corpus.build_sized(folder, COUNTS[megapixels], width, height)


def by_size(sizes: list[float], runs: int) -> list[Point]:
    start_up = measure_start_up(None, runs)
    print(f"  {describe(start_up)}", flush=True)
    points = []
    for mp in sizes:
        files = sized_files(mp)
        points.append(Point(mp, [once(files, None, start_up) for _ in range(runs)]))
        print(f"  {mp:g} MP: {summary(points[-1])}", flush=True)
    return points


def by_cores(runs: int) -> list[Point]:
    files = sized_files(12.0)
    points = []
    for cores, cpus in CORES.items():
        start_up = measure_start_up(cpus, runs)
        print(f"  {cores} core(s): {describe(start_up)}", flush=True)
        points.append(Point(cores, [once(files, cpus, start_up) for _ in range(runs)]))
        print(f"  {cores} core(s): {summary(points[-1])}", flush=True)
    return points


def describe(start_up: StartUp) -> str:
    wall, cpu = start_up.wall_s, start_up.cpu_s
    return f"start-up (empty folder, median): {wall:.2f} s wall, {cpu:.2f} s CPU"


def summary(point: Point) -> str:
    rates = point.rates()
    cpu = statistics.median(r.cpu_ms for r in point.runs)
    loads = [r.load for r in point.runs]
    return (
        f"{statistics.median(rates):.1f} img/s (runs {min(rates):.1f}-{max(rates):.1f}), "
        f"CPU {cpu:.1f} ms/img, load {min(loads):.1f}-{max(loads):.1f}"
    )


def draw(points: list[Point], xlabel: str, title: str, path: Path, log_x: bool) -> None:
    import matplotlib

    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    xs = [p.x for p in points]
    medians = [p.median_rate() for p in points]
    low = [m - min(p.rates()) for m, p in zip(medians, points, strict=True)]
    high = [max(p.rates()) - m for m, p in zip(medians, points, strict=True)]
    figure, axes = plt.subplots(figsize=(6, 3.6))
    axes.errorbar(xs, medians, yerr=[low, high], marker="o", capsize=4)
    if log_x:
        axes.set_xscale("log")
    axes.set_xticks(xs, [f"{x:g}" for x in xs])
    axes.set_xlabel(xlabel)
    axes.set_ylabel("images per second (end to end)")
    axes.set_ylim(bottom=0)
    axes.set_title(title, fontsize=10)
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, metadata={"Date": None})
    plt.close(figure)


def points_from(saved: list[dict[str, Any]]) -> list[Point]:
    return [Point(p["x"], [Run(**r) for r in p["runs"]]) for p in saved]


def draw_all(results: dict[str, list[Point]], runs: int, out: Path) -> None:
    note = f"median of {runs} runs, bars: min to max"
    if "size" in results:
        draw(
            results["size"],
            "megapixels per image (JPEG)",
            f"run --once against image size, 2 cores\n({note})",
            out / "throughput-size.svg",
            log_x=True,
        )
    if "cores" in results:
        draw(
            results["cores"],
            "cores (taskset)",
            f"run --once, 12-MP JPEGs, against cores\n({note})",
            out / "throughput-cores.svg",
            log_x=False,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="0.3,3,12", help="megapixels, of " + str(list(SIZES)))
    parser.add_argument("--runs", type=int, default=3, help="runs per point")
    parser.add_argument("--only", default="size,cores")
    parser.add_argument("--out", type=Path, default=IMAGES)
    parser.add_argument(
        "--redraw", action="store_true", help="draw bench/out/curves.json again, run nothing"
    )
    args = parser.parse_args()
    if args.redraw:
        saved = json.loads((OUT / "curves.json").read_text())
        draw_all({k: points_from(v) for k, v in saved.items()}, args.runs, args.out)
        return
    sections = set(args.only.split(","))
    results: dict[str, list[Point]] = {}
    if "size" in sections:
        print("throughput against image size (run --once, all cores):", flush=True)
        results["size"] = by_size([float(s) for s in args.sizes.split(",")], args.runs)
    if "cores" in sections:
        print("throughput against cores (run --once, 12-MP JPEGs, taskset):", flush=True)
        results["cores"] = by_cores(args.runs)
    OUT.mkdir(exist_ok=True)
    saved = {k: [asdict(p) for p in v] for k, v in results.items()}
    (OUT / "curves.json").write_text(json.dumps(saved, indent=1))
    draw_all(results, args.runs, args.out)


if __name__ == "__main__":
    main()
