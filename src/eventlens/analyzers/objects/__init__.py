"""Detectors with boxes for the label model: people (SSDLite), faces (BlazeFace) and everyday
objects (NanoDet), converted from TensorFlow graphs that ship in packages to ONNX, without
TensorFlow."""

from __future__ import annotations

from pathlib import Path

from eventlens.analyzers.base import AnalyzerUnavailable


class DetectorUnavailable(AnalyzerUnavailable):
    """A detector's source model is not installed and no converted model is cached (the label
    model then runs without it)."""


def build_models(force: bool = False) -> list[Path]:
    """Convert (or find cached) the person and face detectors whose source model is installed
    (the object detector: ``nanodet.build_model``)."""
    from eventlens.analyzers.objects import blazeface, people

    built = people.build_models(force) if people.is_available() else []
    return built + ([blazeface.build_model(force)] if blazeface.is_available() else [])
