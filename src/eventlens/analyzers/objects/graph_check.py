"""Does the int8 person graph find, on this CPU, the people its float graph finds?

ONNX Runtime picks its int8 kernels by the CPU, so a quantised graph that is right on one CPU
can be wrong on another (``eventlens.cpu``). Before the detector uses its int8 graph it runs
both graphs on the bundled check photos (``CHECKED`` of ``eventlens/data/person-check``) and
compares their boxes. The verdict is kept beside the model, one per CPU
and ONNX Runtime version, so the check runs once per machine (on a read-only model cache, such
as a Lambda package's, once per process, in the temporary folder).

The float graph's boxes on the check photos are kept too (``<float model>.reference.json``,
written when the models are built, so a Lambda package carries them): a float graph gives the
same boxes on every CPU (to about 1e-5, far inside the tolerances below), so only the int8
graph has to run on a new CPU, and a cold start does not open the float graph at all.
"""

from __future__ import annotations

import hashlib
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

#: The check photos the int8 graph runs on (three with people, a coffee cup without): the four
#: on which an int8 path known to be wrong disagrees with float, on an AVX2-only CPU. The
#: 8-bit-weight graph whose int16 pair sums saturate there (the issue's "Person on the coffee
#: cup") finds a person float does not on all four; a graph whose activations clip misses the
#: people of the three. The folder's rocket launch and tabby cat caught neither, and each
#: check pass costs a Lambda cold start ~25 ms: they stay out (bench/RESULTS.md, "Cold start,
#: 2026-12-07 night").
CHECKED = ("astronaut", "basketball-1", "coffee-cup", "messi")


@dataclass(frozen=True, slots=True)
class Verdict:
    agrees: bool
    #: what disagreed, for the log line and ``eventlens doctor`` ("" when it agrees)
    reason: str
    cpu: str
    onnxruntime: str


def check_photos(names: Sequence[str] | None = None) -> list[tuple[str, Image.Image]]:
    """The bundled photos named ``names`` (every one in the folder when None), by name."""
    photos = []
    for name, entry in _photo_files(names):
        with entry.open("rb") as f, Image.open(f) as image:
            photos.append((name, image.convert("RGB")))
    return photos


def _photo_files(names: Sequence[str] | None) -> list[tuple[str, Any]]:
    folder = resources.files("eventlens") / "data" / "person-check"
    if names is not None:
        return [(name, folder / f"{name}.jpg") for name in sorted(names)]
    found = sorted(folder.iterdir(), key=lambda e: e.name)
    return [(e.name.removesuffix(".jpg"), e) for e in found if e.name.endswith(".jpg")]


def photos_digest() -> str:
    """Names the checked photos' bytes: a reference made on other photos is not used."""
    digest = hashlib.sha256()
    for _, entry in _photo_files(CHECKED):
        digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    return digest.hexdigest()[:16]


References = dict[str, list[Detection]]


def reference_file(float_model: Path) -> Path:
    return float_model.with_name(f"{float_model.name}.reference.json")


def _reference_key(min_score: float) -> str:
    return f"photos {photos_digest()}|min_score {min_score}"


def run_reference(
    run: Detect, prepare: Callable[[Image.Image], np.ndarray[Any, Any]]
) -> References:
    """The float graph's boxes on every checked photo."""
    return {name: run([prepare(image)])[0] for name, image in check_photos(CHECKED)}


def kept_references(float_model: Path, min_score: float) -> References | None:
    """The float graph's boxes kept beside ``float_model`` for these check photos and
    ``min_score``, or None (missing, damaged, or made for other photos or another score)."""
    try:
        kept = json.loads(reference_file(float_model).read_text("utf-8"))
        found = kept[_reference_key(min_score)]
        return {
            name: [Detection(tuple(d["box"]), int(d["class_id"]), float(d["score"])) for d in ds]
            for name, ds in found.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def keep_references(float_model: Path, min_score: float, references: References) -> None:
    """Write the float graph's boxes beside ``float_model`` (atomically); an unwritable model
    folder is no fault: the references are made again when needed."""
    key = _reference_key(min_score)
    entry = {name: [asdict(d) for d in ds] for name, ds in references.items()}
    try:
        _write(reference_file(float_model), key, entry)
    except OSError as error:
        log.debug("person check: references not kept beside %s: %s", float_model, error)


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
    int8: Detect,
    reference: Callable[[], References],
    prepare: Callable[[Image.Image], np.ndarray[Any, Any]],
) -> Verdict:
    """Run the int8 graph on every checked photo and compare its boxes with the float
    graph's (``reference``); the disagreements are the reason."""
    import onnxruntime as ort

    references = reference()
    reasons = []
    for name, image in check_photos(CHECKED):
        (got,) = int8([prepare(image)])
        found = disagreement(references[name], got)
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


def _write(path: Path, key: str, value: Verdict | dict[str, Any]) -> None:
    try:
        kept = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        kept = {}
    if not isinstance(kept, dict):
        kept = {}
    kept[key] = asdict(value) if isinstance(value, Verdict) else value
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(kept, f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
