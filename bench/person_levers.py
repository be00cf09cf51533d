"""People found when small or dark (issue 20, item 2): the person detector's levers, measured.

    .venv/bin/python bench/person_levers.py run       # every pass on every eval photo, timed
    .venv/bin/python bench/person_levers.py report    # Person recall / precision per option

``run`` decodes each evaluation photo as the label analyzer does (short side >= 256) and runs
the person detector (the graph ``auto`` picks on this CPU, one thread) on: the whole image at
300 px (today's pass), 2 x 2 overlapping tiles at 300 px (``people_tiles``), and the whole
image at 450 and 600 px; BlazeFace at 128 px as the label path runs it. It keeps every box
scoring >= 0.2 and each pass's CPU time in ``bench/out/person-levers/passes.json``.
``report`` combines the passes into the options (tiles always; a second pass only when the
first pass's best body score lies in a band; a lower body threshold) and prints ``Person``
recall / precision per part and the mean CPU per image of the detector passes. Choose on
``tune``; the held-out parts are reported, never tuned on.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventlens.analyzers.objects import blazeface, people, people_tiles
from eventlens.analyzers.objects.ssd import Detection

OUT = Path(__file__).resolve().parent / "out" / "person-levers"
SPLITS = ("tune", "heldout", "heldout2", "heldout3")
FLOOR = 0.2
SCALES = (450, 600)
Found = list[dict[str, Any]]


def _boxes(found: list[Detection]) -> Found:
    return [{"box": list(d.box), "score": d.score} for d in found]


def _timed(fn: Callable[[], list[Detection]]) -> tuple[Found, float]:
    start = time.process_time()
    found = fn()
    return _boxes(found), (time.process_time() - start) * 1000


def _scaled(detector: people.PeopleDetector, image: Any, size: int) -> list[Detection]:
    return detector.detect_inputs([people.to_input(image, size)])[0]


def _passes(detector: people.PeopleDetector, faces: Any, data: bytes) -> dict[str, Any]:
    """Every pass on one photo: its boxes and CPU milliseconds."""
    from eventlens.analyzers.labels.preprocess import resize_for
    from eventlens.analyzers.objects.people_labels import FACE_INPUT_SIZE
    from eventlens.imaging import ImageInput

    image = ImageInput(data, "x").decode(resize_for(224)).image
    passes: dict[str, Any] = {"size": list(image.size)}
    passes["full"] = _timed(lambda: detector.detect_inputs([people.to_input(image)])[0])
    passes["tiles"] = _timed(lambda: people_tiles.detect_tiles(detector, image))
    start = time.process_time()
    large = ImageInput(data, "x").decode(2 * resize_for(224)).image
    passes["decode512"] = ([], (time.process_time() - start) * 1000)
    passes["tiles512"] = _timed(lambda: people_tiles.detect_tiles(detector, large))
    for size in SCALES:
        passes[f"s{size}"] = _timed(partial(_scaled, detector, image, size))
    passes["faces"] = _timed(
        lambda: faces.detect_inputs([blazeface.to_input(image, FACE_INPUT_SIZE)])[0]
    )
    return passes


def run() -> None:
    from bench.eval_set.collect import collect, photo_path
    from eventlens.analyzers.objects.people_labels import FACE_MIN_SCORE

    detector = people.PeopleDetector(min_score=FLOOR, intra_op_threads=1)
    detector.load()
    faces = blazeface.FaceDetector(min_score=FACE_MIN_SCORE, intra_op_threads=1)
    rows = []
    for photo in collect():
        passes = _passes(detector, faces, photo_path(photo).read_bytes())
        row: dict[str, Any] = {"id": photo["id"], "split": photo["split"]}
        row["person"] = bool(photo["person"])
        row["size"] = passes.pop("size")
        row["passes"] = {k: {"found": f, "ms": ms} for k, (f, ms) in passes.items()}
        rows.append(row)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "passes.json").write_text(json.dumps({"graph": detector.graph, "rows": rows}), "utf-8")
    print(f"{len(rows)} photos, graph {detector.graph}: {OUT / 'passes.json'}")


def _best(found: Found) -> float:
    return max((d["score"] for d in found), default=0.0)


#: an option: (name, photo row -> (best first-pass score, best extra-pass score, CPU ms))
Option = tuple[str, Callable[[dict[str, Any]], tuple[float, float, float]]]


def options() -> list[Option]:
    def single(name: str, passes: tuple[str, ...]) -> Option:
        def score(row: dict[str, Any]) -> tuple[float, float, float]:
            p = row["passes"]
            extra = max((_best(p[k]["found"]) for k in passes[1:]), default=0.0)
            return _best(p[passes[0]]["found"]), extra, sum(p[k]["ms"] for k in passes)

        return name, score

    def second(name: str, extra: tuple[str, ...], low: float, high: float) -> Option:
        def score(row: dict[str, Any]) -> tuple[float, float, float]:
            p = row["passes"]
            first, ms = _best(p["full"]["found"]), p["full"]["ms"]
            if low <= first < high:
                ms += sum(p[k]["ms"] for k in extra)
                return first, max(_best(p[k]["found"]) for k in extra), ms
            return first, 0.0, ms

        return name, score

    out = [single("full 300 (today)", ("full",)), single("tiles 2x2 + full", ("full", "tiles"))]
    out.append(single("tiles 2x2 of a 512 decode + full", ("full", "decode512", "tiles512")))
    out += [single(f"full {s} only", (f"s{s}",)) for s in SCALES]
    out += [single(f"full 300 + {s}", ("full", f"s{s}")) for s in SCALES]
    extras = [("tiles",), ("decode512", "tiles512"), *((f"s{s}",) for s in SCALES)]
    for extra in extras:
        for low in (0.1, 0.2, 0.3):
            name = f"{extra[-1]} when full in [{low}, 0.55)"
            out.append(second(name, extra, low, 0.55))
    return out


def report(thresholds: list[float], extra_thresholds: list[float]) -> None:
    data = json.loads((OUT / "passes.json").read_text("utf-8"))
    rows = data["rows"]
    print(f"graph {data['graph']}, {len(rows)} photos; faces >= 0.75 always make Person")
    cols = " | ".join(f"{s}: recall / precision" for s in SPLITS)
    print(f"| option | body threshold (first / extra pass) | {cols} | CPU ms / image |")
    print("|---|---|" + "---|" * len(SPLITS) + "---|")
    for name, score in options():
        scored = [(row, *score(row)) for row in rows]
        ms = sum(m for *_, m in scored) / len(scored)
        pairs = [(t, t) for t in thresholds]
        if name != "full 300 (today)":
            pairs = [(t, e) for t in thresholds for e in extra_thresholds if e >= t]
        for threshold, extra_threshold in pairs:
            cells = []
            for split in SPLITS:
                part = [
                    (r, b >= threshold or e >= extra_threshold)
                    for r, b, e, _ in scored
                    if r["split"] == split
                ]
                shown = [b or bool(r["passes"]["faces"]["found"]) for r, b in part]
                truth = [r["person"] for r, _ in part]
                tp = sum(s and t for s, t in zip(shown, truth, strict=True))
                precision = f"{tp / sum(shown):.0%}" if any(shown) else "n/a"
                cells.append(f"{tp}/{sum(truth)} / {precision} ({sum(shown) - tp} false)")
            thresholds_cell = f"{threshold:g} / {extra_threshold:g}"
            print(f"| {name} | {thresholds_cell} | " + " | ".join(cells) + f" | {ms:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run")
    rep = sub.add_parser("report")
    rep.add_argument("--thresholds", default="0.55,0.5,0.45,0.4,0.35,0.3")
    rep.add_argument("--extra-thresholds", default="0.55,0.6,0.7,0.8")
    args = parser.parse_args()
    if args.command == "run":
        run()
    else:
        report(
            [float(t) for t in args.thresholds.split(",")],
            [float(t) for t in args.extra_thresholds.split(",")],
        )


if __name__ == "__main__":
    main()
