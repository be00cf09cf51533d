"""Label confidences calibrated per group of labels, instead of caps.

Each group (fine-grained labels, broad labels, scene labels) maps the classifier's score ``s``
(0..100, after the temperature and, for scene labels, the power) to
``100 * sigmoid(slope * logit(s / 100) + offset)``: Platt scaling, fitted on the evaluation
set's tuning part (``bench/eval_labels.py --calibrate``) so that among labels shown at
confidence c about c % are right.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from eventlens.analyzers.labels.taxonomy import Taxonomy

GROUPS = ("fine", "broad", "scene")
#: scores are clipped to [EPS, 1 - EPS] before the logit
EPS = 1e-4


@dataclass(frozen=True, slots=True)
class Calibration:
    """(slope, offset) per group; ``fine_classes``: labels summing at most this many
    ImageNet classes are "fine", more are "broad" (scene labels are their own group)."""

    params: Mapping[str, tuple[float, float]]
    fine_classes: int
    name: str

    def groups(self, taxonomy: Taxonomy) -> np.ndarray[Any, Any]:
        """Each label's group index into ``GROUPS``."""
        broad = taxonomy.class_counts > self.fine_classes
        return np.where(taxonomy.scene, 2, np.where(broad, 1, 0))

    def apply(self, scores: np.ndarray[Any, Any], taxonomy: Taxonomy) -> np.ndarray[Any, Any]:
        """Scores (0..100; one row or a batch of rows) -> calibrated confidences (0..100)."""
        groups = self.groups(taxonomy)
        slope = np.array([self.params[g][0] for g in GROUPS])[groups]
        offset = np.array([self.params[g][1] for g in GROUPS])[groups]
        return np.asarray(100.0 * _sigmoid(slope * logit(scores) + offset))


def logit(scores: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    p = np.clip(np.asarray(scores, np.float64) / 100.0, EPS, 1.0 - EPS)
    return np.asarray(np.log(p / (1.0 - p)))


def _sigmoid(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def fit_platt(scores: np.ndarray[Any, Any], right: np.ndarray[Any, Any]) -> tuple[float, float]:
    """(slope, offset) maximising the likelihood of ``right`` given ``scores`` (0..100), the
    logistic regression of ``right`` on ``logit(scores)``, searched on a grid (slope 0.02..4,
    offset -6..6): bounded, so that scores piled up at 100 (a sharpened softmax) cannot drive
    the fit to a step function."""
    x = logit(scores)[:, None]
    y = np.asarray(right, np.float64)[:, None]
    offsets = np.arange(-6.0, 6.0001, 0.05)[None, :]
    best = (-np.inf, 1.0, 0.0)
    for slope in np.arange(0.02, 4.0001, 0.02):  # one row of the grid at a time: little memory
        z = slope * x + offsets
        # the log-likelihood of a logistic model, written to stay finite for large |z|
        loglik = (y * z - np.logaddexp(0.0, z)).sum(axis=0)
        j = int(np.argmax(loglik))
        if loglik[j] > best[0]:
            best = (float(loglik[j]), float(slope), float(offsets[0, j]))
    return round(best[1], 2), round(best[2], 2)
