"""Analyzers turn image bytes into Rekognition-shaped findings."""

from eventlens.analyzers.base import Analyzer, Findings

__all__ = ["Analyzer", "Findings"]
