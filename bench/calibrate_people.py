"""Calibrate the int8 person detector on the evaluation set's tuning photos: one command.

    .venv/bin/python bench/calibrate_people.py

Runs the float detector, converted with every activation exposed, on the tuning photos (the
held-out part is never used), prepared exactly as the pipeline prepares them, and writes each
activation's (min, max) to ``src/eventlens/data/people-ssdlite-int8-ranges.json``: the table
``eventlens.analyzers.objects.people`` builds its static int8 (QDQ) graph from. Then prints how
the int8 detector's people compare with the float one's on those photos, and both speeds.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.eval_set.collect import collect, photo_path
from eventlens.analyzers.boxes import box_iou
from eventlens.analyzers.labels.preprocess import resize_for
from eventlens.analyzers.objects import people, ssd
from eventlens.analyzers.objects.ssd_graph import BOXES_NAME, INPUT_NAME, SCORES_NAME, build_onnx
from eventlens.analyzers.onnx_session import create_session
from eventlens.imaging import ImageInput

TABLE = Path(__file__).resolve().parent.parent / "src/eventlens/data" / people.RANGES_FILE


def activation_ranges(model: bytes, inputs: list[np.ndarray[Any, Any]]) -> dict[str, list[float]]:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()][2:]  # after boxes and scores
    low = dict.fromkeys(names, np.inf)
    high = dict.fromkeys(names, -np.inf)
    for x in inputs:
        for name, value in zip(names, session.run(names, {INPUT_NAME: x[None]}), strict=True):
            low[name] = min(low[name], float(value.min()))
            high[name] = max(high[name], float(value.max()))
    return {name: [round(low[name], 6), round(high[name], 6)] for name in names}


def people_found(path: Path, inputs: list[np.ndarray[Any, Any]]) -> tuple[list[Any], float]:
    """Each input's detections at the label threshold, and CPU ms per image (1 thread)."""
    session = create_session(path, intra_op_threads=1)
    found = []
    start = time.process_time()
    for x in inputs:
        boxes, scores = session.run([BOXES_NAME, SCORES_NAME], {INPUT_NAME: x[None]})
        found.append(
            [d for d in ssd.detections(boxes[0], scores[0], x.shape[-1], min_score=0.55)
             if d.box[2] - d.box[0] < people.MAX_BOX_WIDTH]
        )  # fmt: skip
    return found, (time.process_time() - start) * 1000 / len(inputs)


def main() -> None:
    weights = people.weights_path()
    if weights is None:
        sys.exit(f"install {people.REQUIREMENT} first (scripts/setup does)")
    tune = [p for p in collect() if p["split"] == "tune"]
    inputs = [
        people.to_input(ImageInput(photo_path(p).read_bytes(), "x").decode(resize_for(224)).image)
        for p in tune
    ]
    graph = weights.read_bytes()
    ranges = activation_ranges(build_onnx(graph, expose_activations=True), inputs)
    about = "activation (min, max) of the SSDLite person detector on the tuning photos"
    TABLE.write_text(json.dumps({"about": about, "ranges": ranges}, indent=0) + "\n", "utf-8")
    print(f"wrote {len(ranges)} ranges from {len(tune)} tuning photos to {TABLE}")
    with tempfile.TemporaryDirectory() as tmp:
        float_path = Path(tmp) / "people-float.onnx"
        float_path.write_bytes(build_onnx(graph))
        float_found, float_ms = people_found(float_path, inputs)
    int8_found, int8_ms = people_found(people.build_model(force=True), inputs)
    print(f"forward pass, 1 thread: float {float_ms:.1f} ms/img CPU, int8 {int8_ms:.1f}")
    for photo, a, b in zip(tune, float_found, int8_found, strict=True):
        if a or b:
            best = [max((box_iou(x.box, y.box) for y in b), default=0.0) for x in a]
            print(
                f"  {photo['id']}: float {[round(d.score, 2) for d in a]}, "
                f"int8 {[round(d.score, 2) for d in b]}, best IoU {[round(v, 2) for v in best]}"
            )


if __name__ == "__main__":
    main()
