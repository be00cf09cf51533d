"""Helpers called by the GitHub Actions workflows: which images changed, and the PR report."""

from eventlens.github.changed_images import DEFAULT_IMAGE_EXTENSIONS, changed_images, is_image_path
from eventlens.github.report import REPORT_MARKER, render_report

__all__ = [
    "DEFAULT_IMAGE_EXTENSIONS",
    "REPORT_MARKER",
    "changed_images",
    "is_image_path",
    "render_report",
]
