"""Does the int8 person graph find, on this CPU, the people its float graph finds?

ONNX Runtime picks its int8 kernels by the CPU, so a quantised graph that is right on one CPU
can be wrong on another (``eventlens.cpu``). Before the detector uses its int8 graph it runs
both graphs on the bundled check photos (``eventlens/data/person-check``: three with people,
three without) and compares their boxes. The verdict is kept beside the model, one per CPU
and ONNX Runtime version, so the check runs once per machine (on a read-only model cache, such
as a Lambda package's, once per process, in the temporary folder).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from eventlens import cpu
from eventlens.analyzers.boxes import box_iou
from eventlens.analyzers.objects.ssd import Detection

log = logging.getLogger("eventlens.labels")

#: A box counts from this score (the label path's MinConfidence 55) ...
MIN_SCORE = 0.55
#: ... and is matched by a box of the other graph from this score, so that a box just above
#: the threshold in one graph and just below it in the other is no disagreement.
MATCH_FLOOR = 0.4
#: The largest score difference of matched boxes; float against a sound int8 graph differs
#: by at most 0.10 on the 273 evaluation photos (bench/person_graphs.py).
SCORE_TOLERANCE = 0.15
MIN_IOU = 0.5

Detect = Callable[[Sequence[np.ndarray[Any, Any]]], list[list[Detection]]]


@dataclass(frozen=True, slots=True)
class Verdict:
    agrees: bool
    #: what disagreed, for the log line and ``eventlens doctor`` ("" when it agrees)
    reason: str
    cpu: str
    onnxruntime: str


def check_photos() -> list[tuple[str, Image.Image]]:
    """The bundled check photos, by name."""
    folder = resources.files("eventlens") / "data" / "person-check"
    photos = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".jpg"):
            with entry.open("rb") as f, Image.open(f) as image:
                photos.append((entry.name.removesuffix(".jpg"), image.convert("RGB")))
    return photos


def _unmatched(boxes: list[Detection], others: list[Detection]) -> str | None:
    for d in boxes:
        if d.score < MIN_SCORE:
            continue
        candidates = [
            o for o in others if o.score >= MATCH_FLOOR and box_iou(d.box, o.box) >= MIN_IOU
        ]
        if not candidates:
            return f"a person at {d.score:.2f}"
        best = max(candidates, key=lambda o: box_iou(d.box, o.box))
        if abs(best.score - d.score) > SCORE_TOLERANCE:
            return f"a person at {d.score:.2f} against {best.score:.2f}"
    return None


def disagreement(reference: list[Detection], other: list[Detection]) -> str | None:
    """How ``other`` (int8) differs from ``reference`` (float) on one photo, or None."""
    missed = _unmatched(reference, other)
    if missed:
        return f"misses {missed}"
    extra = _unmatched(other, reference)
    return f"finds {extra} that float does not" if extra else None


def compare(
    int8: Detect, reference: Detect, prepare: Callable[[Image.Image], np.ndarray[Any, Any]]
) -> Verdict:
    """Run both graphs on every check photo; the first disagreement is the reason."""
    import onnxruntime as ort

    reasons = []
    for name, image in check_photos():
        x = prepare(image)
        (want,), (got,) = reference([x]), int8([x])
        found = disagreement(want, got)
        if found:
            reasons.append(f"{name}: {found}")
    return Verdict(not reasons, "; ".join(reasons), cpu.fingerprint(), ort.__version__)


def _verdict_files(model: Path) -> list[Path]:
    name = f"{model.name}.check.json"
    return [model.with_name(name), Path(tempfile.gettempdir()) / "eventlens-checks" / name]


def _key() -> str:
    import onnxruntime as ort

    return f"{cpu.fingerprint()}|onnxruntime {ort.__version__}"


def kept_verdict(model: Path, check: Callable[[], Verdict]) -> Verdict:
    """This CPU's verdict on ``model``: kept from an earlier check, or checked now and kept."""
    key = _key()
    files = _verdict_files(model)
    for path in files:
        try:
            kept = json.loads(path.read_text("utf-8"))
            return Verdict(**kept[key])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    verdict = check()
    for path in files:
        try:
            _write(path, key, verdict)
            break
        except OSError:
            continue
    return verdict


def _write(path: Path, key: str, verdict: Verdict) -> None:
    try:
        kept = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        kept = {}
    kept[key] = asdict(verdict)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(kept, f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
