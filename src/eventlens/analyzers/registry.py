"""Analyzer names (as used in configuration) → instances, created once and shared."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eventlens.analyzers.base import Analyzer

if TYPE_CHECKING:
    from eventlens.analyzers.duplicates import HashIndex


@dataclass(frozen=True, slots=True)
class AnalyzerSettings:
    max_labels: int = 10
    min_confidence: float = 55.0
    threads: int | None = None
    #: duplicates: where earlier images' hashes are looked up (passed in by the wiring)
    hash_index: HashIndex | None = None
    duplicate_max_distance: int = 6


def _labels(settings: AnalyzerSettings) -> Analyzer:
    from eventlens.analyzers.labels import LabelAnalyzer

    return LabelAnalyzer(
        max_labels=settings.max_labels,
        min_confidence=settings.min_confidence,
        intra_op_threads=settings.threads,
    )


def _text(settings: AnalyzerSettings) -> Analyzer:
    from eventlens.analyzers.text import TextAnalyzer

    return TextAnalyzer(intra_op_threads=settings.threads)


def _duplicates(settings: AnalyzerSettings) -> Analyzer:
    from eventlens.analyzers.duplicates import DuplicateAnalyzer

    if settings.hash_index is None:
        raise ValueError("the duplicates analyzer needs a hash index (AnalyzerSettings.hash_index)")
    return DuplicateAnalyzer(settings.hash_index, max_distance=settings.duplicate_max_distance)


FACTORIES: dict[str, Callable[[AnalyzerSettings], Analyzer]] = {
    "labels": _labels,
    "text": _text,
    "duplicates": _duplicates,
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
    built: dict[str, list[Analyzer]] = {}
    for env, names in per_environment.items():
        if not names:
            raise ValueError(f"environment {env!r} has no analyzers")
        built[env] = []
        for name in names:
            if name not in instances:
                instances[name] = create(name, settings)
            built[env].append(instances[name])
    return built
