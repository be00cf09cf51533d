"""Analyzer names (as used in configuration) → instances, created once and shared."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from eventlens.analyzers.base import Analyzer

if TYPE_CHECKING:
    from eventlens.analyzers.duplicates import HashIndex


@dataclass(frozen=True, slots=True)
class AnalyzerSettings:
    max_labels: int = 10
    min_confidence: float = 55.0
    #: labels: a name from ``eventlens.analyzers.labels.LABEL_MODELS``
    label_model: str = "lite0-people"
    threads: int | None = None
    #: duplicates: where earlier images' hashes are looked up (passed in by the wiring)
    hash_index: HashIndex | None = None
    duplicate_max_distance: int = 6
    #: video: frames sampled per second, and the image analyzer that labels them
    video_fps: float = 1.0
    video_frame_analyzer: str = "labels"
    #: set by ``build``: returns the shared instance of another analyzer (video → labels)
    resolve: Callable[[str], Analyzer] | None = None
    #: rekognition-video: the SNS topic Rekognition announces finished jobs on, and the IAM
    #: role it publishes with
    video_topic_arn: str | None = None
    video_role_arn: str | None = None


def _labels(settings: AnalyzerSettings) -> Analyzer:
    from eventlens.analyzers.labels import LabelAnalyzer

    return LabelAnalyzer(
        max_labels=settings.max_labels,
        min_confidence=settings.min_confidence,
        intra_op_threads=settings.threads,
        model=settings.label_model,
    )


def _image_properties(settings: AnalyzerSettings) -> Analyzer:
    from eventlens.analyzers.image_properties import ImagePropertiesAnalyzer

    return ImagePropertiesAnalyzer()


def _text(settings: AnalyzerSettings) -> Analyzer:
    from eventlens.analyzers.text import TextAnalyzer

    return TextAnalyzer(intra_op_threads=settings.threads)


def _faces(settings: AnalyzerSettings) -> Analyzer:
    from eventlens.analyzers.faces import FaceAnalyzer

    return FaceAnalyzer(intra_op_threads=settings.threads)


def _moderation(settings: AnalyzerSettings) -> Analyzer:
    from eventlens.analyzers.moderation import ModerationAnalyzer

    return ModerationAnalyzer()


def _duplicates(settings: AnalyzerSettings) -> Analyzer:
    from eventlens.analyzers.duplicates import DuplicateAnalyzer

    if settings.hash_index is None:
        raise ValueError("the duplicates analyzer needs a hash index (AnalyzerSettings.hash_index)")
    return DuplicateAnalyzer(settings.hash_index, max_distance=settings.duplicate_max_distance)


def _video(settings: AnalyzerSettings) -> Analyzer:
    from eventlens.analyzers.video import VideoAnalyzer

    name = settings.video_frame_analyzer
    frames = settings.resolve(name) if settings.resolve else create(name, settings)
    return VideoAnalyzer(frames, frames_per_second=settings.video_fps)


def _rekognition(settings: AnalyzerSettings) -> Analyzer:
    from eventlens.analyzers.rekognition import RekognitionAnalyzer

    return RekognitionAnalyzer(
        max_labels=settings.max_labels, min_confidence=settings.min_confidence
    )


def _rekognition_faces(settings: AnalyzerSettings) -> Analyzer:
    from eventlens.analyzers.rekognition import RekognitionFaceAnalyzer

    return RekognitionFaceAnalyzer()


def _rekognition_text(settings: AnalyzerSettings) -> Analyzer:
    from eventlens.analyzers.rekognition import RekognitionTextAnalyzer

    return RekognitionTextAnalyzer()


def _rekognition_moderation(settings: AnalyzerSettings) -> Analyzer:
    from eventlens.analyzers.rekognition import RekognitionModerationAnalyzer

    return RekognitionModerationAnalyzer()


def _rekognition_video(settings: AnalyzerSettings) -> Analyzer:
    from eventlens.analyzers.rekognition_video import RekognitionVideoAnalyzer

    return RekognitionVideoAnalyzer(settings.video_topic_arn, settings.video_role_arn)


FACTORIES: dict[str, Callable[[AnalyzerSettings], Analyzer]] = {
    "labels": _labels,
    "image_properties": _image_properties,
    "text": _text,
    "faces": _faces,
    "moderation": _moderation,
    "duplicates": _duplicates,
    "video": _video,
    "rekognition": _rekognition,
    "rekognition-faces": _rekognition_faces,
    "rekognition-text": _rekognition_text,
    "rekognition-moderation": _rekognition_moderation,
    "rekognition-video": _rekognition_video,
}


def register(name: str, factory: Callable[[AnalyzerSettings], Analyzer]) -> None:
    FACTORIES[name] = factory


def create(name: str, settings: AnalyzerSettings) -> Analyzer:
    try:
        factory = FACTORIES[name]
    except KeyError:
        known = ", ".join(sorted(FACTORIES))
        raise ValueError(f"unknown analyzer {name!r} (available: {known})") from None
    return factory(settings)


def build(
    per_environment: Mapping[str, Sequence[str]], settings: AnalyzerSettings
) -> dict[str, list[Analyzer]]:
    """Instantiate each named analyzer once, shared between environments."""
    instances: dict[str, Analyzer] = {}

    def shared(name: str) -> Analyzer:
        if name not in instances:
            instances[name] = create(name, replace(settings, resolve=shared))
        return instances[name]

    built: dict[str, list[Analyzer]] = {}
    for env, names in per_environment.items():
        if not names:
            raise ValueError(f"environment {env!r} has no analyzers")
        built[env] = [shared(name) for name in names]
    return built
