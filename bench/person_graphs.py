"""The person detector's graph options on this CPU and on an AVX2-only one: one command each.

    .venv/bin/python bench/person_graphs.py prepare            # inputs of every eval photo
    .venv/bin/python bench/person_graphs.py run --tag native   # every graph on this CPU
    qemu-x86_64 -cpu Haswell .venv/bin/python bench/person_graphs.py run --tag haswell
    .venv/bin/python bench/person_graphs.py report             # the tables for RESULTS.md

``prepare`` decodes each evaluation photo as the pipeline does and keeps the detector's input
(300 x 300 RGB, uint8) in ``bench/out/person-graphs/inputs.npz``, so the emulated run only runs
the graphs. ``run`` converts each graph option (float; int8 with full-range weights ``s8``,
7-bit weights ``s7``, uint8 weights ``u8``) and keeps each photo's person detections. ``report``
compares every option and CPU with the float graph on this CPU, and gives the ``Person`` label's
precision and recall per part, as the label analyzer makes it (bodies from the run, faces from
BlazeFace in float here: the face detector has no quantised graph).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventlens.analyzers.boxes import box_iou
from eventlens.analyzers.objects import people, ssd
from eventlens.analyzers.objects.ssd_graph import BOXES_NAME, INPUT_NAME, SCORES_NAME, build_onnx
from eventlens.analyzers.objects.tensor import signed_unit_chw
from eventlens.convert import quantization

OUT = Path(__file__).resolve().parent / "out" / "person-graphs"
GRAPHS = ("float", "s8", "s7", "s7dw8", "u8")
#: the label path's threshold for a body box (MinConfidence 55)
MIN_SCORE = 0.55


def _graph(option: str) -> bytes:
    weights = people.weights_path()
    if weights is None:
        sys.exit(f"install {people.REQUIREMENT} first (scripts/setup does)")
    if option == "float":
        return build_onnx(weights.read_bytes())
    return build_onnx(
        weights.read_bytes(),
        quantization.load_ranges(people.RANGES_FILE),
        weights=quantization.WEIGHT_FORMATS[option],
    )


def prepare() -> None:
    from PIL import Image

    from bench.eval_set.collect import collect, photo_path
    from eventlens.analyzers.labels.preprocess import resize_for
    from eventlens.analyzers.objects import blazeface
    from eventlens.analyzers.objects.people_labels import FACE_INPUT_SIZE, FACE_MIN_SCORE
    from eventlens.imaging import ImageInput

    photos = collect()
    images, faces = [], []
    face_detector = (
        blazeface.FaceDetector(min_score=FACE_MIN_SCORE) if blazeface.is_available() else None
    )
    for p in photos:
        decoded = ImageInput(photo_path(p).read_bytes(), "x").decode(resize_for(224)).image
        rgb = decoded.convert("RGB").resize(
            (people.INPUT_SIZE, people.INPUT_SIZE), Image.Resampling.BILINEAR
        )
        images.append(np.asarray(rgb, np.uint8))
        found = (
            face_detector.detect_inputs([blazeface.to_input(decoded, FACE_INPUT_SIZE)])[0]
            if face_detector
            else []
        )
        faces.append([{"box": list(d.box), "score": d.score} for d in found])
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT / "inputs.npz", images=np.stack(images))
    meta = [
        {"id": p["id"], "split": p["split"], "person": bool(p["person"]), "faces": f}
        for p, f in zip(photos, faces, strict=True)
    ]
    (OUT / "photos.json").write_text(json.dumps(meta), "utf-8")
    print(f"prepared {len(photos)} photos in {OUT}")


def _cpu_flags() -> list[str]:
    from eventlens.cpu import instruction_sets

    return instruction_sets()


def run(tag: str, graphs: list[str], limit: int | None) -> None:
    images = np.load(OUT / "inputs.npz")["images"]
    if limit:
        images = images[:limit]
    result: dict[str, Any] = {"cpu": _cpu_flags(), "machine": platform.machine(), "graphs": {}}
    result["onnxruntime"] = ort.__version__
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    for option in graphs:
        session = ort.InferenceSession(_graph(option), options, providers=["CPUExecutionProvider"])
        found, start = [], time.process_time()
        for image in images:
            x = signed_unit_chw(image)[None]
            boxes, scores = session.run([BOXES_NAME, SCORES_NAME], {INPUT_NAME: x})
            found.append(
                [
                    {"box": list(d.box), "score": d.score}
                    for d in ssd.detections(boxes[0], scores[0], x.shape[-1], min_score=0.3)
                    if d.box[2] - d.box[0] < people.MAX_BOX_WIDTH
                ]
            )
        cpu_ms = (time.process_time() - start) * 1000 / len(images)
        result["graphs"][option] = {"cpu_ms": cpu_ms, "found": found}
        print(f"{tag} {option}: {cpu_ms:.1f} ms CPU per forward pass, {len(images)} photos")
    (OUT / f"run-{tag}.json").write_text(json.dumps(result), "utf-8")


def agreement(
    reference: list[list[dict[str, Any]]], other: list[list[dict[str, Any]]]
) -> dict[str, float]:
    """Boxes >= MIN_SCORE: photos whose people match one to one (IoU >= 0.5), the mean IoU and
    the largest score difference of matched boxes, and boxes only one side has."""
    ious: list[float] = []
    deltas: list[float] = []
    extra = missing = photos_same = 0
    for ref, oth in zip(reference, other, strict=True):
        a = [d for d in ref if d["score"] >= MIN_SCORE]
        b = [d for d in oth if d["score"] >= MIN_SCORE]
        unmatched = list(b)
        missed = 0
        for d in a:
            best = max(unmatched, key=lambda e: box_iou(d["box"], e["box"]), default=None)
            if best is not None and box_iou(d["box"], best["box"]) >= 0.5:
                unmatched.remove(best)
                ious.append(box_iou(d["box"], best["box"]))
                deltas.append(abs(d["score"] - best["score"]))
            else:
                missed += 1
        missing += missed
        extra += len(unmatched)
        photos_same += not missed and not unmatched
    return {
        "photos_same": photos_same,
        "photos": len(reference),
        "mean_iou": float(np.mean(ious)) if ious else float("nan"),
        "max_delta": float(max(deltas)) if deltas else 0.0,
        "extra": extra,
        "missing": missing,
    }


def person_label(bodies: list[dict[str, Any]], faces: list[dict[str, Any]]) -> bool:
    """Whether the label analyzer shows ``Person`` (MinConfidence 55): as sure as the best
    body or face (``people_labels``)."""
    from eventlens.analyzers.objects.people_labels import Found, labels

    def detections(found: list[dict[str, Any]]) -> list[ssd.Detection]:
        return [ssd.Detection(tuple(d["box"]), 1, d["score"]) for d in found]  # type: ignore[arg-type]

    names = {lab["Name"] for lab in labels(Found(detections(bodies), detections(faces)), 55)}
    return "Person" in names


def report() -> None:
    meta = json.loads((OUT / "photos.json").read_text("utf-8"))
    runs = {
        p.stem.removeprefix("run-"): json.loads(p.read_text("utf-8"))
        for p in sorted(OUT.glob("run-*.json"))
    }
    reference = runs["native"]["graphs"]["float"]["found"]
    print(
        "| CPU | graph | CPU ms / pass (1 thread) | photos with float's people | mean IoU "
        "| max score delta | boxes float lacks | float boxes missed |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for tag, result in runs.items():
        for option, graph in result["graphs"].items():
            n = len(graph["found"])
            a = agreement(reference[:n], graph["found"])
            print(
                f"| {tag} | {option} | {graph['cpu_ms']:.1f} | {a['photos_same']}/{a['photos']} | "
                f"{a['mean_iou']:.3f} | {a['max_delta']:.3f} | {a['extra']} | {a['missing']} |"
            )
    print()
    print(
        "| graph | CPU | photos with the same people as on this CPU | mean IoU | max score delta |"
    )
    print("|---|---|---|---|---|")
    for tag, result in runs.items():
        if tag == "native":
            continue
        for option, graph in result["graphs"].items():
            if option not in runs["native"]["graphs"]:
                continue  # not run on this CPU
            n = len(graph["found"])
            a = agreement(runs["native"]["graphs"][option]["found"][:n], graph["found"])
            print(
                f"| {option} | {tag} | {a['photos_same']}/{a['photos']} | {a['mean_iou']:.3f} | "
                f"{a['max_delta']:.3f} |"
            )
    print()
    splits = ["tune", "heldout", "heldout2", "heldout3"]
    print("| CPU | graph | " + " | ".join(f"{s}: Person recall / precision" for s in splits) + " |")
    print("|---|---|" + "---|" * len(splits))
    for tag, result in runs.items():
        for option, graph in result["graphs"].items():
            cells = []
            for split in splits:
                rows = [
                    (m, found)
                    for m, found in zip(meta, graph["found"], strict=False)
                    if m["split"] == split
                ]
                if not rows:
                    cells.append("-")
                    continue
                shown = [person_label(found, m["faces"]) for m, found in rows]
                truth = [m["person"] for m, _ in rows]
                tp = sum(s and t for s, t in zip(shown, truth, strict=True))
                precision = f"{tp / sum(shown):.0%}" if any(shown) else "n/a"
                cells.append(f"{tp}/{sum(truth)} / {precision} ({sum(shown) - tp} false)")
            print(f"| {tag} | {option} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare")
    run_parser = sub.add_parser("run")
    run_parser.add_argument("--tag", required=True, help="names the CPU, e.g. native or haswell")
    run_parser.add_argument("--graphs", default=",".join(GRAPHS))
    run_parser.add_argument("--limit", type=int, default=None, help="only the first N photos")
    sub.add_parser("report")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare()
    elif args.command == "run":
        run(args.tag, args.graphs.split(","), args.limit)
    else:
        report()


if __name__ == "__main__":
    main()
