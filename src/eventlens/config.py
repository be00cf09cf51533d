"""Settings for the embedded mode, from command-line options and EVENTLENS_* variables."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventlens.analyzers.registry import AnalyzerSettings
from eventlens.imaging import DEFAULT_MAX_PIXELS
from eventlens.pipeline import DEFAULT_MAX_BYTES, PipelineOptions
from eventlens.routing import DEFAULT_ROUTES, Route, Router, parse_route
from eventlens.workers import worker_count

DEFAULT_ROOT = "./eventlens-bucket"
#: Analyzers of every environment unless configured: labels (with people) and image properties.
DEFAULT_ANALYZERS = ("labels", "image_properties")


def parse_analyzers(spec: str) -> dict[str, list[str]]:
    """``labels,faces`` (every environment) or ``beta=labels,faces;prod=labels``."""
    result: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        env, sep, names = part.rpartition("=")
        result[env.strip() if sep else "*"] = [n.strip() for n in names.split(",") if n.strip()]
    return result or {"*": list(DEFAULT_ANALYZERS)}


@dataclass(slots=True)
class Settings:
    root: Path = field(default_factory=lambda: Path(DEFAULT_ROOT))
    db: Path | None = None
    routes: tuple[Route, ...] = DEFAULT_ROUTES
    analyzers: dict[str, list[str]] = field(default_factory=lambda: {"*": list(DEFAULT_ANALYZERS)})
    max_labels: int = 10
    min_confidence: float = 55.0
    label_model: str = "lite0-people"  # labels analyzer: see LABEL_MODELS
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    branch: str = "local"
    batch_size: int = 16
    max_attempts: int = 5
    video_fps: float = 1.0  # video analyzer: frames sampled per second
    duplicate_max_distance: int = 6  # duplicates analyzer: largest pHash distance (bits)
    audit_log: Path | None = None
    webhook_url: str | None = None  # POST failure notices here (local mode)
    give_up_after_s: float = 0.0  # exit non-zero when a fault lasts longer (0: never)

    @property
    def db_path(self) -> Path:
        return self.db or self.root / ".eventlens" / "eventlens.db"

    @property
    def router(self) -> Router:
        return Router(self.routes)

    @property
    def tables(self) -> dict[str, str]:
        return {route.environment: route.table for route in self.routes}

    def analyzer_settings(self) -> AnalyzerSettings:
        return AnalyzerSettings(
            max_labels=self.max_labels,
            min_confidence=self.min_confidence,
            label_model=self.label_model,
            # the runner keeps one batch per core in flight: one model thread each uses the
            # cores without the threads of two batches contending (measured ~3 % faster)
            threads=1 if worker_count() > 1 else None,
            video_fps=self.video_fps,
            duplicate_max_distance=self.duplicate_max_distance,
        )

    def pipeline_options(self) -> PipelineOptions:
        return PipelineOptions(
            max_bytes=self.max_bytes, max_pixels=self.max_pixels, branch=self.branch
        )

    def analyzers_by_environment(self) -> dict[str, list[str]]:
        default = self.analyzers.get("*", list(DEFAULT_ANALYZERS))
        return {
            route.environment: self.analyzers.get(route.environment, default)
            for route in self.routes
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        settings = cls()
        for variable, (attribute, convert) in _FROM_ENV.items():
            if value := env.get(variable):
                try:
                    setattr(settings, attribute, convert(value))
                except ValueError as exc:
                    raise ValueError(f"{variable}={value!r}: {exc}") from exc
        if not env.get("EVENTLENS_BRANCH") and (value := env.get("GITHUB_REF_NAME")):
            settings.branch = value
        return settings


def _label_model(value: str) -> str:
    from eventlens.analyzers.labels.analyzer import label_model

    return label_model(value.strip()).name


def _routes(value: str) -> tuple[Route, ...]:
    return tuple(parse_route(s) for s in value.split(",") if s.strip())


#: EVENTLENS_* variable → (Settings attribute, parser)
_FROM_ENV: dict[str, tuple[str, Callable[[str], Any]]] = {
    "EVENTLENS_ROOT": ("root", Path),
    "EVENTLENS_DB": ("db", Path),
    "EVENTLENS_ROUTES": ("routes", _routes),
    "EVENTLENS_ANALYZERS": ("analyzers", parse_analyzers),
    "EVENTLENS_MAX_LABELS": ("max_labels", int),
    "EVENTLENS_MIN_CONFIDENCE": ("min_confidence", float),
    "EVENTLENS_LABEL_MODEL": ("label_model", _label_model),
    "EVENTLENS_MAX_BYTES": ("max_bytes", int),
    "EVENTLENS_MAX_PIXELS": ("max_pixels", int),
    "EVENTLENS_BRANCH": ("branch", str),
    "EVENTLENS_VIDEO_FPS": ("video_fps", float),
    "EVENTLENS_DUPLICATE_MAX_DISTANCE": ("duplicate_max_distance", int),
    "EVENTLENS_AUDIT_LOG": ("audit_log", Path),
    "EVENTLENS_BATCH_SIZE": ("batch_size", int),
    "EVENTLENS_WEBHOOK_URL": ("webhook_url", str),
    "EVENTLENS_GIVE_UP_AFTER": ("give_up_after_s", float),
}
