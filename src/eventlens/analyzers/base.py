"""The analyzer port: bytes in, Rekognition-shaped findings out.

An analyzer owns its model's load/predict life cycle (loaded lazily, once per process) and
knows nothing about where the bytes came from or where its findings are stored.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from eventlens.errors import Transient
from eventlens.imaging import ImageInput

Findings = dict[str, Any]


class AnalyzerUnavailable(Transient, RuntimeError):
    """A package or model the analyzer needs is not installed; the message says how to get it."""


class Analyzer(ABC):
    #: Short name used in configuration (``labels``, ``faces``, ``text`` ...).
    name: str = ""
    #: Value written to the record's ``analysis_method`` when this analyzer provides labels.
    method: str = ""
    #: Media kinds this analyzer accepts (``ImageInput.media``); the pipeline skips the others.
    media: ClassVar[frozenset[str]] = frozenset({"image"})
    #: False for analyzers that never look at the bytes (a cloud service reading the object
    #: itself): when no analyzer of a media kind reads them, the pipeline does not download it.
    reads_bytes: ClassVar[bool] = True

    @property
    @abstractmethod
    def model_version(self) -> str:
        """Identifies the model and its settings; a change triggers re-analysis."""

    def load(self) -> None:  # noqa: B027 - optional hook, most analyzers load lazily
        """Load the model eagerly (e.g. at worker start) instead of on first use."""

    @abstractmethod
    def analyze(self, image: ImageInput) -> Findings:
        """Analyse one image. Raise ``ImageRejected`` for bad input; other errors are retried."""

    def forget(self, environment: str, key: str) -> None:  # noqa: B027 - optional hook
        """The object at ``key`` was deleted: drop what this analyzer keeps about it (the
        duplicates analyzer's hash index); most analyzers keep nothing."""

    def record_labels(self, findings: Findings) -> list[dict[str, Any]]:
        """The DetectLabels-shaped labels for the record when this analyzer supplies them."""
        return list(findings.get("Labels", []))

    def analyze_batch(self, images: Sequence[ImageInput]) -> list[Findings | Exception]:
        """Analyse several images; one failing image does not fail the others."""
        results: list[Findings | Exception] = []
        for image in images:
            try:
                results.append(self.analyze(image))
            except Exception as exc:
                results.append(exc)
        return results


def label_entry(
    name: str,
    confidence: float,
    *,
    parents: Sequence[str] = (),
    instances: list[dict[str, Any]] | None = None,
    aliases: Sequence[str] = (),
) -> dict[str, Any]:
    """One DetectLabels ``Labels`` entry."""
    return {
        "Name": name,
        "Confidence": round(confidence, 4),
        "Instances": instances or [],
        "Parents": [{"Name": p} for p in parents],
        "Aliases": [{"Name": a} for a in aliases],
        "Categories": [],
    }


def check_label_limits(max_labels: int, min_confidence: float) -> None:
    """DetectLabels' ``MaxLabels`` / ``MinConfidence`` bounds, shared by label analyzers."""
    if max_labels < 1:
        raise ValueError("max_labels must be at least 1")
    if not 0.0 <= min_confidence <= 100.0:
        raise ValueError("min_confidence must be between 0 and 100")
