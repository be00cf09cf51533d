"""Where one image's time goes in a running watcher: file closed → record written, per stage.

    .venv/bin/python bench/latency_stages.py --drops 100 --burst 0

Runs the local app in this process (``build_local_app`` + ``runner.watch``, as ``eventlens
run`` does), timestamps each stage of each file by wrapping the functions that do it, copies
``--drops`` 12-MP JPEGs into the bucket one per ``--interval`` seconds (as ``cp`` does), then
``--burst`` at once, and prints each stage's median and p99 in ms, and one image's floor time
measured in the same run (``bench/run.py``'s). Instrumentation only: nothing is changed.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import sqlite3
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import corpus
from bench.run import BETA, OUT, _floor_batch, floor_sessions, percentile

#: the stages in the order they happen; each one's time is from the previous stamp present
STAGES = (
    ("seen", "close → the watcher's handler (inotify, watchdog)"),
    ("enqueued", "handler → queued in SQLite (stat, intake commit)"),
    ("claimed", "queued → a lane claimed it (wake-up, claim commit)"),
    ("prepared", "read, sha256, stored record looked up"),
    ("decoded", "decode + model inputs"),
    ("classified", "classifier forward + label scores"),
    ("bodies", "person detector forward + boxes"),
    ("faces", "face detector forward + boxes"),
    ("labelled", "label post-processing"),
    ("properties", "image properties"),
    ("built", "record built (exif, dimensions)"),
    ("stored", "record written (SQLite commit)"),
    ("hooks", "hooks (notify, audit log)"),
    ("acked", "intake ack (SQLite commit)"),
)


class Stamps:
    """key → stage → wall-clock time (and the thread's CPU time, and which thread); the keys a
    lane works on, per thread."""

    def __init__(self) -> None:
        self.at: dict[str, dict[str, float]] = {}
        self.cpu: dict[str, dict[str, tuple[int, float]]] = {}
        self._last: list[str] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    def keys(self) -> list[str]:
        """The keys of this thread's batch; on a pool thread, the last batch claimed (one at
        a time at a file a second)."""
        return list(getattr(self._local, "keys", self._last))

    def set_keys(self, keys: list[str]) -> None:
        self._local.keys = self._last = keys

    def stamp(self, stage: str, keys: Sequence[str] | None = None) -> None:
        now, cpu = time.time(), (threading.get_ident(), time.thread_time())
        with self._lock:
            for key in self.keys() if keys is None else keys:
                self.at.setdefault(key, {}).setdefault(stage, now)
                self.cpu.setdefault(key, {}).setdefault(stage, cpu)


def _after(obj: Any, name: str, stamp: Callable[[tuple[Any, ...], Any], None]) -> None:
    """Wrap ``obj.name`` so that ``stamp(args, result)`` runs after each call."""
    original = getattr(obj, name)

    @functools.wraps(original)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        stamp(args, result)
        return result

    setattr(obj, name, wrapped)


def instrument(stamps: Stamps) -> None:
    from eventlens import pipeline as pipeline_module
    from eventlens import runner as runner_module
    from eventlens.analyzers import image_properties
    from eventlens.analyzers.labels import analyzer as labels
    from eventlens.analyzers.objects import blazeface, people

    runner_cls = runner_module.LocalRunner
    on_event, run = runner_cls._on_event, runner_cls._run

    def _on_event(self: Any, event: Any) -> None:
        stamps.stamp("seen", [event.key])
        on_event(self, event)
        stamps.stamp("enqueued", [event.key])

    def _run(self: Any, jobs: list[Any], *args: Any) -> None:
        keys = [job.event.key for job in jobs]
        stamps.set_keys(keys)
        stamps.stamp("claimed")
        run(self, jobs, *args)
        stamps.stamp("acked")

    runner_cls._on_event = _on_event  # type: ignore[method-assign]
    runner_cls._run = _run  # type: ignore[method-assign,assignment]
    pipe = pipeline_module.Pipeline
    _after(pipe, "_prepare", lambda a, r: stamps.stamp("prepared", [a[1].key]))
    _after(labels, "_prepare", lambda a, r: stamps.stamp("decoded", [a[0].key]))
    _after(labels.LabelAnalyzer, "classify", lambda a, r: stamps.stamp("classified"))
    _after(people.PeopleDetector, "detect_inputs", lambda a, r: stamps.stamp("bodies"))
    _after(blazeface.FaceDetector, "detect_inputs", lambda a, r: stamps.stamp("faces"))
    _after(labels.LabelAnalyzer, "analyze_batch", lambda a, r: stamps.stamp("labelled"))
    props = image_properties.ImagePropertiesAnalyzer
    _after(props, "analyze_batch", lambda a, r: stamps.stamp("properties"))
    _after(pipe, "_ok_record", lambda a, r: stamps.stamp("built", [r.filename]))
    _after(pipe, "_store", lambda a, r: stamps.stamp("stored"))


def floor_ms(files: list[Path]) -> tuple[float, float, dict[str, float]]:
    """One image's floor time as ``bench/run.py`` measures it (median wall ms), its median CPU
    ms (the thread's), and each part's median CPU ms."""
    sessions, _graph = floor_sessions()
    blobs = [p.read_bytes() for p in files]
    _floor_batch(sessions, blobs[:1])  # first passes allocate
    walls, cpus, parts = [], [], []
    for blob in blobs:
        start = time.perf_counter()
        parts.append(_floor_batch(sessions, [blob]))
        walls.append((time.perf_counter() - start) * 1000)
        cpus.append(sum(parts[-1].values()) * 1000)
    each = {name: statistics.median(p[name] for p in parts) * 1000 for name in parts[0]}
    return statistics.median(walls), statistics.median(cpus), each


def run(files: list[Path], drops: int, burst: int, interval: float) -> None:
    from eventlens.cli.options import load_settings
    from eventlens.cli.running import check_ready, open_local_app

    floor_load = os.getloadavg()[0]
    floor, floor_cpu, floor_parts = floor_ms(files[:20])
    root = OUT / "stages-root"
    if root.exists():
        shutil.rmtree(root)
    (root / BETA).mkdir(parents=True)
    stamps = Stamps()
    instrument(stamps)
    app = open_local_app(load_settings(root=root))
    check_ready(app)  # loads the models, as ``eventlens run`` does
    hooks_after = app.pipeline.hooks.after_write

    def after_write(outcomes: Sequence[Any]) -> None:
        hooks_after(outcomes)
        stamps.stamp("hooks")

    app.pipeline.hooks.after_write = after_write  # type: ignore[method-assign]
    written: dict[str, float] = {}
    done = threading.Condition()

    def progress(outcome: Any) -> None:
        with done:
            if outcome.record is not None:
                written[outcome.event.key] = datetime.fromisoformat(
                    outcome.record.timestamp
                ).timestamp()
            done.notify_all()

    stop = threading.Event()
    app.health.start_heartbeat()
    watcher = threading.Thread(target=app.runner.watch, args=(stop, progress), name="watch")
    watcher.start()
    closed: dict[str, float] = {}

    def drop(source: Path, name: str) -> str:
        target = root / BETA / name
        shutil.copyfile(source, target)
        key = target.relative_to(root).as_posix()
        closed[key] = time.time()
        return key

    def wait_for(keys: list[str], timeout: float = 600) -> None:
        with done:
            if not done.wait_for(lambda: all(k in written for k in keys), timeout):
                raise TimeoutError(f"{sum(k not in written for k in keys)} records missing")

    try:
        wait_for([drop(files[0], "warm.jpg")])
        steady_load = os.getloadavg()[0]
        start = time.monotonic()
        steady = []
        for i, path in enumerate(files[1 : 1 + drops]):
            time.sleep(max(0.0, start + i * interval - time.monotonic()))
            steady.append(drop(path, f"steady-{i:04d}.jpg"))
        wait_for(steady)
        burst_load = os.getloadavg()[0]
        bursted = [drop(p, f"burst-{i:04d}.jpg") for i, p in enumerate(files[1 + drops :][:burst])]
        wait_for(bursted)
    finally:
        stop.set()
        watcher.join(60)
        app.health.stop_heartbeat()
        with sqlite3.connect(app.settings.db_path) as conn:
            started = time.perf_counter()
            frames = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            took = (time.perf_counter() - started) * 1000
        app.close()
    print(
        f"WAL frames since its last reset (busy, frames, checkpointed): {frames}; "
        f"a checkpoint of them took {took:.1f} ms"
    )
    print(f"one image's floor: {floor:.1f} ms, CPU {floor_cpu:.1f} ms (load {floor_load:.1f})")
    print("  CPU ms: " + ", ".join(f"{name} {ms:.1f}" for name, ms in floor_parts.items()))
    report(f"1 image per {interval:g} s, {len(steady)} files", steady, stamps, closed, written,
           floor, steady_load)  # fmt: skip
    if bursted:
        report(f"a burst of {len(bursted)}", bursted, stamps, closed, written, floor, burst_load)


def report(
    what: str,
    keys: list[str],
    stamps: Stamps,
    closed: dict[str, float],
    written: dict[str, float],
    floor: float,
    load: float,
) -> None:
    print(f"\n{what} (load {load:.1f}): ms per stage, wall median / p99 / max, CPU median")
    parts: dict[str, list[float]] = {stage: [] for stage, _ in STAGES}
    cpu: dict[str, list[float]] = {stage: [] for stage, _ in STAGES}
    for key in keys:
        # in the order they happened (the detectors may run beside the classifier): each
        # stage's wall time is from the stamp before it, its CPU time from the one before it
        # on the same thread
        at = stamps.at.get(key, {})
        previous, previous_cpu = closed[key], dict[int, float]()
        for stage in sorted(at, key=at.__getitem__):
            parts[stage].append((at[stage] - previous) * 1000)
            thread, thread_cpu = stamps.cpu[key][stage]
            if thread in previous_cpu:
                cpu[stage].append((thread_cpu - previous_cpu[thread]) * 1000)
            previous, previous_cpu[thread] = at[stage], thread_cpu
    for stage, meaning in STAGES:
        values = parts[stage]
        if values:
            own = f"{percentile(cpu[stage], 50):7.1f}" if cpu[stage] else "      -"
            print(
                f"  {stage:<11} {percentile(values, 50):7.1f} {percentile(values, 99):7.1f} "
                f"{max(values):7.1f} {own}  {meaning}"
            )
    total = [(written[k] - closed[k]) * 1000 for k in keys]
    acked = [(stamps.at[k]["acked"] - closed[k]) * 1000 for k in keys]
    lane_cpu = [
        (stamps.cpu[k]["acked"][1] - stamps.cpu[k]["claimed"][1]) * 1000
        for k in keys
        if stamps.cpu[k]["acked"][0] == stamps.cpu[k]["claimed"][0]
    ]
    print(f"  the lane's CPU, claimed → acked: median {percentile(lane_cpu, 50):.1f} ms")
    p50, p99 = percentile(total, 50), percentile(total, 99)
    print(f"  close → record timestamp: p50 {p50:.1f} / p99 {p99:.1f} ms "
          f"= {p50 / floor:.2f} / {p99 / floor:.2f} x the floor")  # fmt: skip
    print(f"  close → acked: p50 {percentile(acked, 50):.1f} / p99 {percentile(acked, 99):.1f} ms")
    worst = sorted(keys, key=lambda k: written[k] - closed[k])[-3:]
    for key in worst:
        at = stamps.at[key]
        steps = ", ".join(f"{s} {(at[s] - closed[key]) * 1000:.0f}" for s, _ in STAGES if s in at)
        print(f"  slowest {key.rsplit('/', 1)[-1]}: {steps}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--drops", type=int, default=100)
    parser.add_argument("--burst", type=int, default=0)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    files = corpus.build(OUT / "corpus", 1 + args.drops + args.burst, 0)
    run([p for p in files if p.suffix == ".jpg"], args.drops, args.burst, args.interval)


if __name__ == "__main__":
    main()
