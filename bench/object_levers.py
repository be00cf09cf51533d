"""The object detector's levers on the evaluation set's tuning part: preprocessing, score
threshold, and how often each class's label is right by score band.

    .venv/bin/python bench/object_levers.py          # tuning part only (settings are chosen on it)
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.eval_set.collect import collect, photo_path
from eventlens.analyzers.labels.preprocess import resize_for
from eventlens.analyzers.objects import coco, nanodet
from eventlens.analyzers.onnx_session import create_session
from eventlens.imaging import ImageInput


def variants(x: np.ndarray[Any, Any]) -> dict[str, np.ndarray[Any, Any]]:
    """The input as NanoDet's own pipeline feeds it (``to_input``: BGR, mean/std per channel)
    and as the TF.js library does (RGB / 255)."""
    bgr = x * nanodet.STD_BGR + nanodet.MEAN_BGR
    rgb = np.ascontiguousarray(bgr[::-1] / 255.0, np.float32)
    return {"bgr mean/std": x, "rgb/255": rgb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--min-score", type=float, default=0.3)
    args = parser.parse_args()
    photos = [p for p in collect() if p["split"] == "tune"]
    session = create_session(nanodet.build_model(), 1)
    # variant -> score band -> [right, shown]
    bands: dict[str, dict[float, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    per_class: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for photo in photos:
        image = ImageInput(photo_path(photo).read_bytes(), photo["id"]).decode(resize_for(224))
        accepted = {a.casefold() for a in photo["accepted"]}
        for name, x in variants(nanodet.to_input(image.image)).items():
            scores, dists = session.run(None, {nanodet.INPUT_NAME: x[None]})
            found = nanodet.decode(scores[0], dists[0], min_score=args.min_score)
            best: dict[int, float] = {}
            for d in found:
                best[d.class_id] = max(best.get(d.class_id, 0.0), d.score)
            for class_id, score in best.items():
                label = coco.CLASSES[class_id][1]
                right = label.casefold() in accepted
                band = min(0.9, np.floor(score * 10) / 10)
                bands[name][band][0] += right
                bands[name][band][1] += 1
                if score >= 0.4:
                    per_class[name][label][0] += right
                    per_class[name][label][1] += 1
                    if not right:
                        print(f"  {name}: {photo['id']}: {label} {score:.2f} (not accepted)")
    for name, by_band in bands.items():
        print(f"\n{name}: labels right / shown by best score per photo and class")
        for band in sorted(by_band):
            right, shown = by_band[band]
            print(f"  score {band:.1f}-{band + 0.1:.1f}: {right} / {shown}")
        print(
            "  at >= 0.4 by label: "
            + ", ".join(f"{label} {r}/{s}" for label, (r, s) in sorted(per_class[name].items()))
        )


if __name__ == "__main__":
    main()
