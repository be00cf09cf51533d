"""eventlens benchmark: one command, prints a table (and writes bench/out/results.json).

    .venv/bin/python bench/run.py                  # everything (first run builds the corpus)
    .venv/bin/python bench/run.py --only once,latency --jpegs 200

Sections: floor (decode at the size the models take + every default model's forward passes,
nothing else; CPU per image of each part), the stages the default labels path adds (detectors
as the pipeline runs them, image properties, label post-processing; ms/image each), end-to-end
``eventlens run --once`` throughput, the same against what a user would write
(``bench/naive_labels.py``), event → record latency in a running watcher, peak RSS with
100,000 events queued, label query time over 1,000,000 records.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import corpus
from bench.peak_rss import run_measuring_peak_rss
from eventlens.events.base import ObjectEvent
from eventlens.imaging import ImageInput
from eventlens.intake import IntakeQueue
from eventlens.results.base import Query
from eventlens.results.record import Record
from eventlens.results.sqlite import SQLiteResultStore

OUT = Path(__file__).resolve().parent / "out"
EVENTLENS = str(Path(sys.executable).with_name("eventlens"))
BETA = "rekognition-input/beta/"
Row = tuple[str, str, str, str]  # metric, value, target, verdict


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


@dataclass(frozen=True, slots=True)
class Part:
    """One part of the floor: what it is and its CPU time (the threads that ran it)."""

    name: str
    cpu_s: float


@dataclass(frozen=True, slots=True)
class Floor:
    rate: float  # images per second (wall)
    cpu_ms: float  # CPU time per image, the whole process
    parts: tuple[Part, ...] = ()
    images: int = 0
    person_graph: str = ""  # the person detector's graph after its per-CPU check


#: Images per forward pass in the floor, per model: the classifier batches (``run --once``'s
#: lanes take 16 events at a time; a watcher's one); the detectors one image at a time, which
#: costs them the least CPU (``people_labels.DETECTOR_BATCH``: a batch's activations outgrow
#: the caches).
FLOOR_BATCHES = {"classifier": 16, "person detector": 1, "face detector": 1}
FLOOR_PARTS = (
    "decode",
    "classifier input",
    "person input",
    "face input",
    "classifier forward",
    "person detector forward",
    "face detector forward",
)


def floor_sessions() -> tuple[dict[str, tuple[Any, str]], str]:
    """Every default model's ONNX Runtime session, one thread each (the floor runs one batch
    per core, as the pipeline's lanes do), with its input name: the classifier, the person
    detector's graph as the pipeline picks it (int8 after the per-CPU check, else float) and
    BlazeFace; and the person graph's name."""
    from eventlens.analyzers.labels.efficientnet_lite import INPUT_NAME as CLASSIFIER_INPUT
    from eventlens.analyzers.labels.model_cache import build_model as build_classifier
    from eventlens.analyzers.objects import blazeface, people
    from eventlens.analyzers.objects.ssd_graph import INPUT_NAME as PERSON_INPUT
    from eventlens.analyzers.onnx_session import create_session

    graph = people.PeopleDetector(intra_op_threads=1).graph  # runs (or reuses) the check
    person_model = people.model_path() if graph == "int8" else people.float_model_path()
    sessions = {
        "classifier": (create_session(build_classifier(), 1), CLASSIFIER_INPUT),
        "person detector": (create_session(person_model, 1), PERSON_INPUT),
        "face detector": (create_session(blazeface.build_model(), 1), blazeface.INPUT_NAME),
    }
    return sessions, graph


def _floor_batch(sessions: dict[str, tuple[Any, str]], blobs: list[bytes]) -> dict[str, float]:
    """One batch through the least work it needs, on this thread: each image decoded at the
    size the models take (DCT-scaled, as the pipeline does) and every model's input made from
    it, then each model's forward passes. The thread's CPU seconds of each part."""
    from eventlens.analyzers.labels.preprocess import CROP, resize_for, to_input
    from eventlens.analyzers.objects import blazeface, people
    from eventlens.analyzers.objects.people_labels import FACE_INPUT_SIZE

    cpu = dict.fromkeys(FLOOR_PARTS, 0.0)
    inputs: dict[str, list[np.ndarray]] = {name: [] for name in FLOOR_BATCHES}

    def step(part: str, work: Callable[[], Any]) -> Any:
        t = time.thread_time()
        result = work()
        cpu[part] += time.thread_time() - t
        return result

    for data in blobs:
        image = step(
            "decode",
            lambda d=data: ImageInput(d, "x").decode(min_short_side=resize_for(CROP)).image,
        )
        inputs["classifier"].append(step("classifier input", lambda i=image: to_input(i)))
        inputs["person detector"].append(step("person input", lambda i=image: people.to_input(i)))
        inputs["face detector"].append(
            step("face input", lambda i=image: blazeface.to_input(i, FACE_INPUT_SIZE)[0])
        )
    for name, (session, input_name) in sessions.items():
        batch, xs = FLOOR_BATCHES[name], inputs[name]
        for i in range(0, len(xs), batch):
            feed = {input_name: np.stack(xs[i : i + batch])}
            step(f"{name} forward", lambda f=feed, s=session: s.run(None, f))
    return cpu


def measure_floor(files: list[Path]) -> Floor:
    """The least work the default label model (``lite0-people``) needs: decode at the size the
    models take, every model's input, every model's forward passes (``FLOOR_BATCHES``), one
    batch per core with one model thread each (no threads contending). Nothing else: no
    hashing, no store, no events, no box decoding or label post-processing."""
    sessions, graph = floor_sessions()
    blobs = [p.read_bytes() for p in files]
    batch = FLOOR_BATCHES["classifier"]
    batches = [blobs[i : i + batch] for i in range(0, len(blobs), batch)]
    cpu_start, start = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        measured = list(pool.map(lambda b: _floor_batch(sessions, b), batches))
    wall = time.perf_counter() - start
    cpu_ms = (time.process_time() - cpu_start) * 1000 / len(files)
    parts = tuple(Part(name, sum(m[name] for m in measured)) for name in FLOOR_PARTS)
    return Floor(len(files) / wall, cpu_ms, parts, len(files), graph)


def floor_rows(floor: Floor) -> list[Row]:
    n = floor.images
    rows: list[Row] = [
        (
            f"floor: decode + every default model's forward passes, {n} images",
            f"{floor.rate:.1f} img/s",
            "",
            f"lite0-people; person graph {floor.person_graph}",
        ),
        ("floor: CPU time per image", f"{floor.cpu_ms:.1f} ms", "", "all threads"),
        (
            "floor: parts' CPU (the rest: threads, numpy)",
            f"{sum(p.cpu_s for p in floor.parts) * 1000 / n:.1f} ms/img",
            "",
            "",
        ),
    ]
    for part in floor.parts:
        batch = next((b for k, b in FLOOR_BATCHES.items() if part.name == f"{k} forward"), None)
        rows.append(
            (
                f"floor part: {part.name}" + (f" (batches of {batch})" if batch else ""),
                f"{part.cpu_s * 1000 / n:.1f} ms/img",
                "",
                "CPU",
            )
        )
    return rows


def bench_floor(files: list[Path]) -> tuple[Floor, list[Row]]:
    floor = measure_floor(files)
    return floor, floor_rows(floor)


def bench_stages(files: list[Path]) -> list[Row]:
    """What the default label model adds to the floor, per image, as the pipeline runs it
    (detectors one image at a time, on the decode the floor already did): the person and face
    detectors (resize + forward + boxes), the image properties, and the object detector of
    ``lite0-objects``; wall and CPU time."""
    from eventlens.analyzers.image_properties import image_properties
    from eventlens.analyzers.labels.analyzer import OBJECTS_MIN_SCORE
    from eventlens.analyzers.labels.preprocess import RESIZE
    from eventlens.analyzers.objects.object_labels import ObjectFinder
    from eventlens.analyzers.objects.people_labels import PeopleFinder

    decoded = [ImageInput(p.read_bytes(), "x").decode(min_short_side=RESIZE).image for p in files]
    n = len(decoded)

    def timed(what: str, work: Callable[[], object]) -> Row:
        cpu, start = time.process_time(), time.perf_counter()
        work()
        wall_ms = (time.perf_counter() - start) * 1000 / n
        cpu_ms = (time.process_time() - cpu) * 1000 / n
        return (f"stage: {what}", f"{wall_ms:.1f} ms/img", "", f"CPU {cpu_ms:.1f} ms/img")

    rows: list[Row] = []
    for name, bodies in (("person detector", True), ("face detector", False)):
        finder = PeopleFinder(intra_op_threads=1, bodies=bodies, faces=not bodies)
        if not finder:
            rows.append((f"stage: {name}", "not installed", "", ""))
            continue
        finder.load()
        rows.append(timed(name, lambda f=finder: f.detect([f.prepare(im) for im in decoded])))
    objects = ObjectFinder(intra_op_threads=1, min_score=OBJECTS_MIN_SCORE)
    if objects:
        objects.load()
        rows.append(
            timed(
                "object detector (lite0-objects; NanoDet, 416x416, float)",
                lambda: objects.detect([objects.prepare(im) for im in decoded]),
            )
        )
    else:
        rows.append(("stage: object detector (lite0-objects)", "not installed", "", ""))
    rows.append(timed("image properties", lambda: [image_properties(im) for im in decoded]))
    rows += _label_post_processing(n, timed)
    return rows


def _label_post_processing(n: int, timed: Callable[[str, Callable[[], object]], Row]) -> list[Row]:
    """Logits -> labels (softmax, hypernym sums, caps, sorting) for ``n`` images, with the
    default's scene labels (mass ** SCENE_POWER) and without them: what they add to the floor."""
    from dataclasses import replace

    import numpy as np

    from eventlens.analyzers.labels.analyzer import LABEL_MODELS, LabelAnalyzer
    from eventlens.analyzers.labels.taxonomy import load_taxonomy

    logits = np.random.default_rng(0).normal(0.0, 3.0, (n, 1000)).astype(np.float32)

    class Logits:  # stands in for the ONNX session: the forward pass is the floor's
        def run(self, _names: object, _feeds: object) -> list[object]:
            return [logits]

    taxonomy = load_taxonomy()
    rows = []
    default = LABEL_MODELS["lite0-people"]
    for what, model in (
        (f"logits -> labels (scene labels ^{default.scene_power:g})", default),
        ("logits -> labels (scene labels as summed)", replace(default, scene_power=1.0)),
    ):
        analyzer = LabelAnalyzer(model=model)

        def post(a: LabelAnalyzer = analyzer) -> object:
            scores = a.classify(Logits(), taxonomy, [np.zeros(1)] * n)
            confidences = a.confidences(scores, taxonomy)
            return [
                a._findings(row, confidence, taxonomy, None)
                for row, confidence in zip(scores, confidences, strict=True)
            ]

        rows.append(timed(what, post))
    return rows


def link_corpus(files: list[Path], root: Path, prefix: str = BETA) -> None:
    if root.exists():
        shutil.rmtree(root)
    target = root / prefix
    target.mkdir(parents=True)
    for path in files:
        os.link(path, target / path.name)


@dataclass(frozen=True, slots=True)
class Timed:
    """A child process's wall time, CPU time (user + sys, all its threads) and stdout."""

    wall_s: float
    cpu_s: float
    stdout: str


def run_child(command: list[str]) -> Timed:
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return Timed(wall, cpu_s, done.stdout)


def bench_once(files: list[Path], floor: Floor | None, what: str) -> list[Row]:
    root = OUT / "once-root"
    link_corpus(files, root)
    timed = run_child([EVENTLENS, "run", "--once", "--root", str(root)])
    wall, cpu_s = timed.wall_s, timed.cpu_s
    cpu_ms = cpu_s * 1000 / len(files)
    store = SQLiteResultStore(root / ".eventlens" / "eventlens.db", {"beta": "beta_results"})
    records = list(store.iter_all("beta"))
    store.close()
    ok = sum(r.ok for r in records)
    durations = [r.duration_ms for r in records]
    rate = len(files) / wall
    rows: list[Row] = [
        (
            f"once: {len(files)} {what}, end-to-end (incl. start-up)",
            f"{rate:.1f} img/s",
            ">= 60",
            verdict(rate >= 60),
        ),
        (f"once ({what}): records ok", f"{ok}/{len(files)}", "all", verdict(ok == len(files))),
        (
            f"once ({what}): per-image latency p50 / p99",
            f"{percentile(durations, 50):.1f} / {percentile(durations, 99):.1f} ms",
            "",
            "",
        ),
    ]
    rows.append((f"once ({what}): CPU time per image", f"{cpu_ms:.1f} ms", "", "all threads"))
    if floor:
        rows.append(
            (
                f"once ({what}): throughput / floor",
                f"{rate / floor.rate:.2f}",
                ">= 0.6",
                verdict(rate / floor.rate >= 0.6),
            )
        )
        # wall-clock ratios swing with other load on the machine; CPU time per image does not
        # (much): on an otherwise idle machine both keep every core busy, so this is the ratio
        rows.append(
            (
                f"once ({what}): floor CPU / run CPU per image",
                f"{floor.cpu_ms / cpu_ms:.2f}",
                ">= 0.6",
                verdict(floor.cpu_ms / cpu_ms >= 0.6),
            )
        )
    return rows


NAIVE = Path(__file__).resolve().parent / "naive_labels.py"


@dataclass(frozen=True, slots=True)
class Versus:
    """The naive script and ``run --once`` on the same images, one after the other."""

    images: int
    naive: Timed
    naive_load: float  # 1-minute load average when each started
    once: Timed
    once_load: float
    records_ok: int

    def rates(self) -> tuple[float, float]:
        return self.images / self.naive.wall_s, self.images / self.once.wall_s

    def cpu_ms(self) -> tuple[float, float]:
        return self.naive.cpu_s * 1000 / self.images, self.once.cpu_s * 1000 / self.images


def measure_versus_naive(files: list[Path]) -> Versus:
    """``bench/naive_labels.py`` (what a user would write) and ``eventlens run --once`` on the
    same files, each in its own process, start-up included in both."""
    naive_load = os.getloadavg()[0]
    naive = run_child([sys.executable, str(NAIVE), *map(str, files)])
    lines = naive.stdout.splitlines()
    assert len(lines) == len(files), f"the naive script labelled {len(lines)}/{len(files)}"
    root = OUT / "naive-root"
    link_corpus(files, root)
    once_load = os.getloadavg()[0]
    once = run_child([EVENTLENS, "run", "--once", "--root", str(root)])
    store = SQLiteResultStore(root / ".eventlens" / "eventlens.db", {"beta": "beta_results"})
    ok = sum(r.ok for r in store.iter_all("beta"))
    store.close()
    return Versus(len(files), naive, naive_load, once, once_load, ok)


def naive_rows(versus: Versus) -> list[Row]:
    n = versus.images
    (naive_rate, once_rate), (naive_cpu, once_cpu) = versus.rates(), versus.cpu_ms()
    return [
        (
            f"naive script: {n} images (full decode, 3 sessions, one at a time)",
            f"{naive_rate:.1f} img/s",
            "",
            f"CPU {naive_cpu:.1f} ms/img; load {versus.naive_load:.1f}",
        ),
        (
            f"naive: run --once on the same {n} images",
            f"{once_rate:.1f} img/s",
            "",
            f"CPU {once_cpu:.1f} ms/img; load {versus.once_load:.1f}; {versus.records_ok}/{n} ok",
        ),
        (
            "naive: run --once / naive script, throughput",
            f"{once_rate / naive_rate:.2f}",
            ">= 5",
            verdict(once_rate / naive_rate >= 5),
        ),
        (
            "naive: naive script / run --once, CPU per image",
            f"{naive_cpu / once_cpu:.2f}",
            ">= 5",
            verdict(naive_cpu / once_cpu >= 5),
        ),
    ]


def bench_naive(files: list[Path]) -> list[Row]:
    return naive_rows(measure_versus_naive(files))


def one_image_floor_ms(files: list[Path]) -> float:
    """One image's floor time: the median wall time of the floor's work (decode at the size the
    models take, every default model's input and forward pass, one model thread) for one image
    at a time, over ``files``."""
    return statistics.median(one_image_floor_times(files))


def one_image_floor_times(files: list[Path]) -> list[float]:
    """The floor's wall time of each of ``files``, one image at a time, in ms."""
    sessions, _graph = floor_sessions()
    blobs = [p.read_bytes() for p in files]
    _floor_batch(sessions, blobs[:1])  # first passes allocate
    times = []
    for blob in blobs:
        start = time.perf_counter()
        _floor_batch(sessions, [blob])
        times.append((time.perf_counter() - start) * 1000)
    return times


def ideal_latencies(closed: list[float], one_ms: float, rate: float) -> list[float]:
    """The floor's own close → done time for each file (closed at ``closed``, seconds, in
    arrival order), in ms: the floor works the files off in arrival order at its all-core
    ``rate`` (images per second), so image i of a burst is done no sooner than 1 / ``rate``
    after image i - 1; and none sooner than one image's floor (``one_ms``, a core to itself)
    after its own close."""
    ideal, previous = [], float("-inf")
    first = closed[0] if closed else 0.0
    for at in (t - first for t in closed):  # from the first close: epoch seconds lose the µs
        previous = max(previous + 1 / rate, at + one_ms / 1000)
        ideal.append((previous - at) * 1000)
    return ideal


@dataclass(frozen=True, slots=True)
class Latency:
    """File closed → record written (the record's timestamp), per arrival pattern, in ms."""

    floor_ms: float  # one image's floor time, same run: the median of before and after
    floor_load: float
    steady: list[float]  # one image per ``interval_s``
    steady_load: float
    burst: list[float]  # all at once
    burst_load: float
    burst_span_s: float  # first file closed → last record
    interval_s: float
    watcher_cpu_s: float  # the watcher process's CPU time, start-up and model load included
    #: the floor's median before the watcher starts, and after the steady drops (the watcher
    #: idle): the load moves during a run, so the floor is taken on both sides of the drops
    floor_before_ms: float = 0.0
    floor_after_ms: float = 0.0
    #: the floor's all-core rate (images per second, ``measure_floor``: batches of 16, one per
    #: core), taken beside the one-image floor (the mean of before and after)
    floor_rate: float = 0.0
    #: the floor's own close → done for each file of the burst (``ideal_latencies``), ms
    burst_ideal: list[float] = field(default_factory=list)


def measure_latency(
    files: list[Path], steady: int, burst: int, interval_s: float = 1.0, floor_images: int = 20
) -> Latency:
    """One image's floor time (before the watcher starts and again after the steady files,
    the watcher idle; the median of both), and a running watcher fed ``steady`` files one per
    ``interval_s`` and then ``burst`` files at once (each its own file: the same bytes twice
    would be a duplicate). Files are written and closed as ``cp`` does."""
    needed = 1 + steady + burst
    if len(files) < needed:
        raise ValueError(f"latency needs {needed} distinct files, got {len(files)}")
    floor_load = os.getloadavg()[0]
    floor_before = one_image_floor_times(files[:floor_images])
    rate_images = files[: FLOOR_BATCHES["classifier"] * (os.cpu_count() or 1)]
    rates = [measure_floor(rate_images).rate]
    root = OUT / "watch-root"
    if root.exists():
        shutil.rmtree(root)
    (root / BETA).mkdir(parents=True)
    db = root / ".eventlens" / "eventlens.db"
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen([EVENTLENS, "run", "--root", str(root)], stdout=subprocess.DEVNULL)
    try:
        _drop_and_wait(files[0], root / BETA / "warm.jpg", db, timeout=120)  # model load
        steady_load = os.getloadavg()[0]
        closed: dict[str, float] = {}
        start = time.monotonic()
        for i, path in enumerate(files[1 : 1 + steady]):
            time.sleep(max(0.0, start + i * interval_s - time.monotonic()))
            closed.update(_drop(path, root / BETA / f"steady-{i:04d}{path.suffix}"))
        steady_ms = _latencies(closed, db)
        floor_load = (floor_load + os.getloadavg()[0]) / 2
        floor_after = one_image_floor_times(files[:floor_images])  # the watcher idle
        rates.append(measure_floor(rate_images).rate)
        burst_load = os.getloadavg()[0]
        closed = {}
        for i, path in enumerate(files[1 + steady : needed]):
            closed.update(_drop(path, root / BETA / f"burst-{i:04d}{path.suffix}"))
        burst_ms = _latencies(closed, db)
        last = max(at + ms / 1000 for ms, at in zip(burst_ms, closed.values(), strict=True))
        span_s = last - min(closed.values())
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    one_ms, rate = statistics.median(floor_before + floor_after), statistics.mean(rates)
    return Latency(
        one_ms,
        floor_load,
        steady_ms,
        steady_load,
        burst_ms,
        burst_load,
        span_s,
        interval_s,
        cpu_s,
        statistics.median(floor_before),
        statistics.median(floor_after),
        rate,
        ideal_latencies(list(closed.values()), one_ms, rate),
    )


def _drop(source: Path, target: Path) -> dict[str, float]:
    """Copy ``source`` into the bucket; its key and the time its copy was closed."""
    shutil.copyfile(source, target)
    return {target.relative_to(target.parents[2]).as_posix(): time.time()}


def _latencies(closed: dict[str, float], db: Path, timeout: float = 300) -> list[float]:
    """Wait for every key's record; ms from each file's close to its record's timestamp, in the
    order of ``closed``."""
    written: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(written) < len(closed):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(closed) - len(written)} records missing")
        try:
            with sqlite3.connect(db, timeout=5) as conn:
                rows = conn.execute("SELECT filename, timestamp FROM beta_results").fetchall()
        except sqlite3.OperationalError:
            rows = []
        written = {k: datetime.fromisoformat(t).timestamp() for k, t in rows if k in closed}
        time.sleep(0.005)
    return [(written[key] - at) * 1000 for key, at in closed.items()]


def latency_rows(latency: Latency) -> list[Row]:
    floor = latency.floor_ms
    rows: list[Row] = [
        (
            "watch: one image's floor time (median, 1 model thread)",
            f"{floor:.1f} ms",
            "",
            f"load {latency.floor_load:.1f}; before / after the drops "
            f"{latency.floor_before_ms:.1f} / {latency.floor_after_ms:.1f}",
        )
    ]
    for what, values, load in (
        (f"1 image per {latency.interval_s:g} s", latency.steady, latency.steady_load),
        (f"a burst of {len(latency.burst)}", latency.burst, latency.burst_load),
    ):
        p50, p99 = percentile(values, 50), percentile(values, 99)
        rows += [
            (
                f"watch, {what}: file closed -> record p50 / p99 ({len(values)} files)",
                f"{p50:.1f} / {p99:.1f} ms",
                "",
                f"load {load:.1f}",
            ),
            (
                f"watch, {what}: p50 / one image's floor",
                f"{p50 / floor:.2f}",
                "<= 1.3",
                verdict(p50 / floor <= 1.3),
            ),
            (
                f"watch, {what}: p99 / one image's floor",
                f"{p99 / floor:.2f}",
                "<= 2",
                verdict(p99 / floor <= 2),
            ),
        ]
    n = len(latency.burst)
    if latency.burst_ideal:
        p50, p99 = percentile(latency.burst, 50), percentile(latency.burst, 99)
        i50, i99 = percentile(latency.burst_ideal, 50), percentile(latency.burst_ideal, 99)
        rows += [
            (
                f"watch, a burst of {n}: the floor's own close -> done p50 / p99",
                f"{i50:.1f} / {i99:.1f} ms",
                "",
                f"at the floor's {latency.floor_rate:.1f} img/s, in arrival order",
            ),
            (
                f"watch, a burst of {n}: the floor's own p50 / p99 over one image's floor",
                f"{i50 / floor:.2f} / {i99 / floor:.2f}",
                "",
                "what the floor itself would score",
            ),
            (
                f"watch, a burst of {n}: p50 / the floor's own p50",
                f"{p50 / i50:.2f}",
                "<= 1.3",
                verdict(p50 / i50 <= 1.3),
            ),
            (
                f"watch, a burst of {n}: p99 / the floor's own p99",
                f"{p99 / i99:.2f}",
                "<= 2",
                verdict(p99 / i99 <= 2),
            ),
        ]
    rows += [
        (
            f"watch, a burst of {n}: first file closed -> last record",
            f"{latency.burst_span_s:.2f} s",
            "",
            f"{n / latency.burst_span_s:.1f} img/s",
        ),
        (
            "watch: the watcher's CPU time per image (start-up included)",
            f"{latency.watcher_cpu_s * 1000 / (1 + len(latency.steady) + n):.1f} ms",
            "",
            "all threads",
        ),
    ]
    return rows


def bench_latency(files: list[Path], steady: int, burst: int) -> list[Row]:
    return latency_rows(measure_latency(files, steady, burst))


def _drop_and_wait(source: Path, target: Path, db: Path, timeout: float) -> float:
    """Copy a file into the bucket; ms from the end of the copy until its record's timestamp."""
    key = target.relative_to(target.parents[2]).as_posix()
    shutil.copyfile(source, target)
    dropped = time.time()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(db, timeout=5) as conn:
                row = conn.execute(
                    "SELECT timestamp FROM beta_results WHERE filename = ?", (key,)
                ).fetchone()
        except sqlite3.OperationalError:
            row = None
        if row:
            return (datetime.fromisoformat(row[0]).timestamp() - dropped) * 1000
        time.sleep(0.002)
    raise TimeoutError(f"no record for {key}")


def bench_rss(files: list[Path], queued: int) -> list[Row]:
    root = OUT / "rss-root"
    link_corpus(files[:20], root)
    db = root / ".eventlens" / "eventlens.db"
    queue = IntakeQueue(db)
    bucket = str(root.resolve())
    events = (ObjectEvent(bucket, f"{BETA}missing/{i:06d}.jpg") for i in range(queued))
    batch: list[ObjectEvent] = []
    for event in events:
        batch.append(event)
        if len(batch) == 10_000:
            queue.enqueue(batch)
            batch.clear()
    queue.enqueue(batch)
    pending = queue.pending()
    queue.close()
    start = time.perf_counter()
    result = run_measuring_peak_rss([EVENTLENS, "run", "--once", "--root", str(root)])
    wall = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    peak_mb = result.peak_mb
    return [
        (
            f"rss: peak RSS, {pending:,} events queued (+20 images)",
            f"{peak_mb:.0f} MB",
            "<= 500",
            verdict(peak_mb <= 500),
        ),
        ("rss: time to drain them", f"{wall:.1f} s", "", ""),
    ]


def bench_query(records: int) -> list[Row]:
    db = OUT / f"query-{records}.db"
    store = SQLiteResultStore(db, {"prod": "prod_results"})
    have = store.count("prod")
    if have < records:
        names = ["Dog", "Cat", "Car", "Tree", "Person", "Cup", "Bird", "Boat", "Bicycle", "Pizza"]
        start = time.perf_counter()
        chunk: list[Record] = []
        for i in range(have, records):
            labels = [
                {
                    "Name": names[(i * 7 + j) % len(names)],
                    "Confidence": 90.0 - j,
                    "Parents": [],
                    "Instances": [],
                }
                for j in range(3)
            ]
            if i % 1000 == 0:
                labels.append({"Name": "Zebra", "Confidence": 99.0, "Parents": [], "Instances": []})
            ts = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00.{i % 999999:06d}Z"
            chunk.append(
                Record(
                    f"rekognition-input/prod/{i:07d}.jpg",
                    "prod",
                    labels=labels,
                    timestamp=ts,
                    sha256=f"{i:064x}",
                    size=1000,
                )
            )
            if len(chunk) == 20_000:
                store.put_many(chunk)
                chunk.clear()
        store.put_many(chunk)
        print(f"  seeded {records - have:,} records in {time.perf_counter() - start:.0f} s")
    rows: list[Row] = []
    for label in ("Dog", "Zebra"):
        timings = []
        for _ in range(20):
            start = time.perf_counter()
            found = store.query(Query("prod", label=label, limit=50))
            timings.append((time.perf_counter() - start) * 1000)
        assert len(found) == 50, f"expected 50 {label} records"
        median = statistics.median(timings)
        rows.append(
            (
                f"query: label={label} (newest 50 of {records:,})",
                f"{median:.2f} ms",
                "<= 20",
                verdict(median <= 20),
            )
        )
    store.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jpegs", type=int, default=500, help="12-MP JPEGs in the corpus")
    parser.add_argument("--pngs", type=int, default=100, help="small PNGs in the corpus")
    parser.add_argument(
        "--drops", type=int, default=100, help="files dropped one per second for latency"
    )
    parser.add_argument("--burst", type=int, default=100, help="files dropped at once")
    parser.add_argument("--queued", type=int, default=100_000, help="events queued for RSS")
    parser.add_argument("--records", type=int, default=1_000_000, help="records for queries")
    parser.add_argument("--only", default="floor,stages,once,naive,latency,rss,query")
    args = parser.parse_args()
    sections = set(args.only.split(","))
    print(
        f"eventlens benchmark on {platform.node()}: {os.cpu_count()} cores, "
        f"python {platform.python_version()}"
    )
    files = corpus.build(OUT / "corpus", args.jpegs, args.pngs)
    jpegs = [p for p in files if p.suffix == ".jpg"]
    rows: list[Row] = []
    floor = None
    steps: list[tuple[str, Callable[[], list[Row]]]] = []
    if "floor" in sections:
        floor, floor_rows = bench_floor(files)
        rows += floor_rows
    if "stages" in sections:
        rows += bench_stages(files)
    if "once" in sections:
        steps.append(("once", lambda: bench_once(jpegs, None, "12-MP JPEGs")))
        steps.append(("once", lambda: bench_once(files, floor, "images: JPEGs + PNGs")))
    if "naive" in sections:
        steps.append(("naive", lambda: bench_naive(files)))
    if "latency" in sections:
        steps.append(("latency", lambda: bench_latency(jpegs, args.drops, args.burst)))
    if "rss" in sections:
        steps.append(("rss", lambda: bench_rss(jpegs, args.queued)))
    if "query" in sections:
        steps.append(("query", lambda: bench_query(args.records)))
    for name, step in steps:
        print(f"running {name} ...", flush=True)
        rows += step()
    widths = [
        max(len(r[i]) for r in [("metric", "value", "target", "verdict"), *rows]) for i in range(4)
    ]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print()
    print(line.format("metric", "value", "target", "verdict"))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))
    (OUT / "results.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
