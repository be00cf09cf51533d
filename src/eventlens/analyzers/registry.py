"""Analyzer names (as used in configuration) → instances, created once and shared."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from eventlens.analyzers.base import Analyzer
from eventlens.settings import Settings

if TYPE_CHECKING:
    from eventlens.face_people import PeopleIndex
    from eventlens.image_hashes import HashIndex


@dataclass(frozen=True, slots=True)
class AnalyzerContext:
    """What a factory builds an analyzer from: the settings (labels, confidence, label model,
    video rate, duplicate distance, Rekognition Video topic ...) and what the wiring adds."""

    settings: Settings = field(default_factory=Settings)
    #: ONNX Runtime intra-op threads (None: the runtime's default)
    threads: int | None = None
    #: duplicates: where earlier images' hashes are looked up
    hash_index: HashIndex | None = None
    #: people: where faces and people are kept
    people_index: PeopleIndex | None = None
    #: set by ``build``: returns the shared instance of another analyzer (video → labels)
    resolve: Callable[[str], Analyzer] | None = None


#: the image analyzer that labels a video's frames
VIDEO_FRAME_ANALYZER = "labels"


def _labels(context: AnalyzerContext) -> Analyzer:
    from eventlens.analyzers.labels import LabelAnalyzer

    return LabelAnalyzer(
        max_labels=context.settings.max_labels,
        min_confidence=context.settings.min_confidence,
        intra_op_threads=context.threads,
        model=context.settings.label_model,
    )


def _image_properties(context: AnalyzerContext) -> Analyzer:
    from eventlens.analyzers.image_properties import ImagePropertiesAnalyzer

    return ImagePropertiesAnalyzer()


def _text(context: AnalyzerContext) -> Analyzer:
    from eventlens.analyzers.text import TextAnalyzer

    return TextAnalyzer(intra_op_threads=context.threads)


def _faces(context: AnalyzerContext) -> Analyzer:
    from eventlens.analyzers.faces import FaceAnalyzer

    return FaceAnalyzer(intra_op_threads=context.threads)


def _moderation(context: AnalyzerContext) -> Analyzer:
    from eventlens.analyzers.moderation import ModerationAnalyzer

    return ModerationAnalyzer()


def _duplicates(context: AnalyzerContext) -> Analyzer:
    from eventlens.analyzers.duplicates import DuplicateAnalyzer

    if context.hash_index is None:
        raise ValueError("the duplicates analyzer needs a hash index (AnalyzerContext.hash_index)")
    return DuplicateAnalyzer(
        context.hash_index, max_distance=context.settings.duplicate_max_distance
    )


def _people(context: AnalyzerContext) -> Analyzer:
    from eventlens.face_people import FaceCollectionIndex

    if context.people_index is None:
        raise ValueError("the people analyzer needs a people index (AnalyzerContext.people_index)")
    if isinstance(context.people_index, FaceCollectionIndex):  # rekognition-faces on AWS
        from eventlens.analyzers.rekognition import RekognitionPeopleAnalyzer

        return RekognitionPeopleAnalyzer(context.people_index)
    from eventlens.analyzers.faces import FaceAnalyzer
    from eventlens.analyzers.people import PeopleAnalyzer

    detector = context.resolve("faces") if context.resolve else create("faces", context)
    assert isinstance(detector, FaceAnalyzer)
    return PeopleAnalyzer(
        context.people_index, detector, threshold=context.settings.people_threshold
    )


def _video(context: AnalyzerContext) -> Analyzer:
    from eventlens.analyzers.video import VideoAnalyzer

    name = VIDEO_FRAME_ANALYZER
    frames = context.resolve(name) if context.resolve else create(name, context)
    return VideoAnalyzer(frames, frames_per_second=context.settings.video_fps)


def _rekognition(context: AnalyzerContext) -> Analyzer:
    from eventlens.analyzers.rekognition import RekognitionAnalyzer

    return RekognitionAnalyzer(
        max_labels=context.settings.max_labels, min_confidence=context.settings.min_confidence
    )


def _rekognition_faces(context: AnalyzerContext) -> Analyzer:
    from eventlens.analyzers.rekognition import RekognitionFaceAnalyzer

    return RekognitionFaceAnalyzer()


def _rekognition_text(context: AnalyzerContext) -> Analyzer:
    from eventlens.analyzers.rekognition import RekognitionTextAnalyzer

    return RekognitionTextAnalyzer()


def _rekognition_moderation(context: AnalyzerContext) -> Analyzer:
    from eventlens.analyzers.rekognition import RekognitionModerationAnalyzer

    return RekognitionModerationAnalyzer()


def _rekognition_video(context: AnalyzerContext) -> Analyzer:
    from eventlens.analyzers.rekognition_video import RekognitionVideoAnalyzer

    return RekognitionVideoAnalyzer(
        context.settings.video_topic_arn, context.settings.video_role_arn
    )


FACTORIES: dict[str, Callable[[AnalyzerContext], Analyzer]] = {
    "labels": _labels,
    "image_properties": _image_properties,
    "text": _text,
    "faces": _faces,
    "moderation": _moderation,
    "duplicates": _duplicates,
    "people": _people,
    "video": _video,
    "rekognition": _rekognition,
    "rekognition-faces": _rekognition_faces,
    "rekognition-text": _rekognition_text,
    "rekognition-moderation": _rekognition_moderation,
    "rekognition-video": _rekognition_video,
}


def register(name: str, factory: Callable[[AnalyzerContext], Analyzer]) -> None:
    FACTORIES[name] = factory


def create(name: str, context: AnalyzerContext) -> Analyzer:
    try:
        factory = FACTORIES[name]
    except KeyError:
        known = ", ".join(sorted(FACTORIES))
        raise ValueError(f"unknown analyzer {name!r} (available: {known})") from None
    return factory(context)


def build(
    per_environment: Mapping[str, Sequence[str]], context: AnalyzerContext
) -> dict[str, list[Analyzer]]:
    """Instantiate each named analyzer once, shared between environments."""
    instances: dict[str, Analyzer] = {}

    def shared(name: str) -> Analyzer:
        if name not in instances:
            instances[name] = create(name, replace(context, resolve=shared))
        return instances[name]

    built: dict[str, list[Analyzer]] = {}
    for env, names in per_environment.items():
        if not names:
            raise ValueError(f"environment {env!r} has no analyzers")
        built[env] = [shared(name) for name in names]
    return built
