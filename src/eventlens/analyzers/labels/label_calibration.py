"""Label confidences from a logistic calibrator with features beyond the score (issue 20).

Per label group (fine, broad, scene: ``calibration.GROUPS``) a logistic regression on
standardised features of each (photo, label) pair — the logit of the label's summed probability
at the fitted temperature, whether the top-1 ImageNet class lies under the label, the logit of
the top-1 probability and of its margin over the second, the entropy, the label's share of its
nearest parent's probability and how many classes it sums — plus a per-label offset, shrunk
toward the group (L2), for labels seen in the fit. Fitted on the tuning part
(``bench/calibrate_labels.py --write``), stored in ``eventlens/data/label-calibration.json``.

The decision rule, ``gate``: a calibrated confidence in [80, gate) is shown as 79, so a label
is "confident" only when the calibrator puts it at ``gate`` or more.

With evidence (``lite0-evidence``), the features go on with the detectors' boxes
(``label_evidence.EVIDENCE_FEATURES``), fitted likewise; its data in
``eventlens/data/label-evidence.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from eventlens.analyzers.labels.calibration import GROUPS, logit
from eventlens.analyzers.labels.label_evidence import EVIDENCE_FEATURES
from eventlens.analyzers.labels.taxonomy import Taxonomy

FEATURES = (
    "logit score",
    "top-1 class under the label",
    "logit top-1 probability",
    "logit top-1 margin",
    "entropy",
    "share of the parent",
    "log classes",
)
#: a calibrated confidence in [CONFIDENT, gate) is shown as CONFIDENT - 1
CONFIDENT = 80.0
DATA_FILE = "label-calibration.json"
EVIDENCE_FILE = "label-evidence.json"
#: labels the classifier scores below this (0..100) are left out of the fit (thousands near
#: zero, never shown); with evidence, unless a box confirms them, they keep their score
#: instead of a calibrated confidence: the fit never saw such a label, and the detectors'
#: evidence (rare in the fit, so weighted highly per unit) would lift every breed under a dog
FLOOR = 5.0


def probabilities(logits: np.ndarray[Any, Any], temperature: float) -> np.ndarray[Any, Any]:
    """The softmax of ``logits`` [n, 1000] at ``temperature``."""
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return np.asarray(p / p.sum(axis=1, keepdims=True))


def features(
    probs: np.ndarray[Any, Any], scores: np.ndarray[Any, Any], taxonomy: Taxonomy
) -> np.ndarray[Any, Any]:
    """[n, labels, len(FEATURES)] for class probabilities ``probs`` [n, 1000] and the label
    scores (0..100) made of them."""
    top = np.sort(probs, axis=1)
    p1, p2 = top[:, -1], top[:, -2]
    entropy = -(probs * np.log(np.clip(probs, 1e-12, 1.0))).sum(axis=1) / np.log(probs.shape[1])
    on_top1 = taxonomy.membership[probs.argmax(axis=1)] > 0
    ratio = np.clip(scores / np.maximum(scores[:, _parents(taxonomy)], 1e-6), 0.0, 1.0)
    shape = scores.shape
    per_photo = [logit(100 * p1), logit(100 * np.clip(p1 - p2, 1e-4, 1.0)), entropy]
    return np.stack(
        [
            logit(scores),
            on_top1.astype(np.float64),
            *(np.broadcast_to(f[:, None], shape) for f in per_photo),
            ratio,
            np.broadcast_to(np.log(taxonomy.class_counts)[None, :], shape),
        ],
        axis=2,
    )


def _parents(taxonomy: Taxonomy) -> np.ndarray[Any, Any]:
    """Each label's nearest parent's index (its own for a label without parents)."""
    index = {name: i for i, name in enumerate(taxonomy.names)}
    return np.array([index[ps[0]] if ps else i for i, ps in enumerate(taxonomy.parents)])


def fit_logistic(
    x: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    lam: float,
    onehot: np.ndarray[Any, Any] | None = None,
    lam_label: float = 0.0,
) -> np.ndarray[Any, Any]:
    """L2-penalised logistic regression by Newton steps: [intercept, weights of ``x``'s
    columns, weights of ``onehot``'s columns]; the intercept is not penalised, the weights by
    ``lam``, the one-hot (per-label offset) columns by ``lam_label``."""
    parts = [np.ones((len(x), 1)), x] + ([onehot] if onehot is not None else [])
    xa = np.hstack(parts)
    pen = np.full(xa.shape[1], lam)
    pen[0] = 0.0
    pen[1 + x.shape[1] :] = lam_label
    w = np.zeros(xa.shape[1])
    for _ in range(100):
        q = 1.0 / (1.0 + np.exp(-(xa @ w)))
        grad = xa.T @ (q - y) + pen * w
        hess = (xa * (q * (1 - q))[:, None]).T @ xa + np.diag(pen + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


@dataclass(frozen=True, slots=True)
class GroupFit:
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    intercept: float
    weights: tuple[float, ...]
    #: per-label offsets (by label name) for the labels seen in the fit
    offsets: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class FeatureCalibration:
    name: str
    temperature: float
    fine_classes: int
    gate: float
    groups_fit: Mapping[str, GroupFit]
    #: the feature names: ``FEATURES``, then the detectors' (``EVIDENCE_FEATURES``) if any
    features: tuple[str, ...] = FEATURES

    @property
    def evidence(self) -> bool:
        """Whether the detectors' evidence is among the features."""
        return len(self.features) > len(FEATURES)

    def groups(self, taxonomy: Taxonomy) -> np.ndarray[Any, Any]:
        """Each label's group index into ``GROUPS``."""
        broad = taxonomy.class_counts > self.fine_classes
        return np.where(taxonomy.scene, 2, np.where(broad, 1, 0))

    def calibrated(self, x: np.ndarray[Any, Any], taxonomy: Taxonomy) -> np.ndarray[Any, Any]:
        """Features [n, labels, k] -> calibrated probabilities (0..100), before the gate."""
        groups = self.groups(taxonomy)
        z = np.zeros(x.shape[:2])
        for g, group in enumerate(GROUPS):
            fit = self.groups_fit[group]
            cols = groups == g
            xs = (x[:, cols, :] - np.array(fit.mean)) / np.array(fit.scale)
            offsets = np.array([fit.offsets.get(n, 0.0) for n in np.array(taxonomy.names)[cols]])
            z[:, cols] = fit.intercept + xs @ np.array(fit.weights) + offsets[None, :]
        return np.asarray(100.0 / (1.0 + np.exp(-z)))

    def apply(
        self,
        probs: np.ndarray[Any, Any],
        scores: np.ndarray[Any, Any],
        taxonomy: Taxonomy,
        evidence: np.ndarray[Any, Any] | None = None,
    ) -> np.ndarray[Any, Any]:
        """Class probabilities [n, 1000] at ``temperature`` and their label scores (and the
        detectors' ``evidence`` [n, labels, k] when fitted with it) -> label confidences
        (0..100), the gate applied."""
        x = features(probs, scores, taxonomy)
        if not self.evidence:
            return gated(self.calibrated(x, taxonomy), self.gate)
        if evidence is None:
            raise ValueError(f"calibration {self.name} needs the detectors' evidence")
        out = self.calibrated(np.concatenate([x, evidence], axis=2), taxonomy)
        fitted = (scores >= FLOOR) | (evidence[:, :, 0] > 0)
        return gated(np.where(fitted, out, scores), self.gate)

    def to_json(self) -> str:
        groups = {
            g: {
                "mean": list(f.mean),
                "scale": list(f.scale),
                "intercept": f.intercept,
                "weights": list(f.weights),
                "offsets": dict(sorted(f.offsets.items())),
            }
            for g, f in self.groups_fit.items()
        }
        about = {
            "name": self.name,
            "temperature": self.temperature,
            "fine_classes": self.fine_classes,
            "gate": self.gate,
            "features": list(self.features),
        }
        return json.dumps(about | {"groups": groups}, indent=1) + "\n"


def gated(confidences: np.ndarray[Any, Any], gate: float) -> np.ndarray[Any, Any]:
    """Confidences in [CONFIDENT, gate) shown as CONFIDENT - 1: only sure labels reach 80."""
    unsure = (confidences >= CONFIDENT) & (confidences < gate)
    return np.asarray(np.where(unsure, CONFIDENT - 1.0, confidences))


def from_json(text: str) -> FeatureCalibration:
    data = json.loads(text)
    known = (FEATURES, FEATURES + EVIDENCE_FEATURES)
    if tuple(data["features"]) not in known:
        raise ValueError(f"calibration {data['name']}: features {data['features']} not {known}")
    groups = {
        g: GroupFit(
            tuple(f["mean"]),
            tuple(f["scale"]),
            float(f["intercept"]),
            tuple(f["weights"]),
            dict(f["offsets"]),
        )
        for g, f in data["groups"].items()
    }
    return FeatureCalibration(
        data["name"],
        data["temperature"],
        data["fine_classes"],
        data["gate"],
        groups,
        tuple(data["features"]),
    )


@lru_cache(maxsize=2)
def bundled(data_file: str = DATA_FILE) -> FeatureCalibration:
    """The calibration fitted on the tuning part, as shipped (``EVIDENCE_FILE``: with the
    detectors' evidence)."""
    return from_json((resources.files("eventlens") / "data" / data_file).read_text("utf-8"))


def fit(
    x: np.ndarray[Any, Any],
    right: np.ndarray[Any, Any],
    label_groups: np.ndarray[Any, Any],
    label_names: list[str],
    *,
    name: str,
    temperature: float,
    fine_classes: int,
    gate: float,
    lam: float = 1.0,
    lam_label: float = 3.0,
    feature_names: tuple[str, ...] = FEATURES,
) -> FeatureCalibration:
    """Fit on samples: features ``x`` [m, k], outcomes ``right`` [m], each sample's group
    index and label name; ``lam_label`` 0: no per-label offsets."""
    fits = {}
    names = np.array(label_names)
    for g, group in enumerate(GROUPS):
        sel = label_groups == g
        xs, ys, ns = x[sel], np.asarray(right[sel], np.float64), names[sel]
        # a feature constant in the group (no scene label has a parent) gets scale 1: weight 0
        mean, std = xs.mean(axis=0), xs.std(axis=0)
        scale = np.where(std > 1e-6, std, 1.0)
        seen = sorted(set(ns.tolist())) if lam_label > 0 else []  # 0: no per-label offsets
        onehot = (ns[:, None] == np.array(seen)[None, :]).astype(np.float64) if seen else None
        w = fit_logistic((xs - mean) / scale, ys, lam, onehot, lam_label)
        k = x.shape[1]
        offsets = {n: round(float(o), 4) for n, o in zip(seen, w[1 + k :], strict=True)}
        fits[group] = GroupFit(
            tuple(round(float(v), 6) for v in mean),
            tuple(round(float(v), 6) for v in scale),
            round(float(w[0]), 6),
            tuple(round(float(v), 6) for v in w[1 : 1 + k]),
            {n: o for n, o in offsets.items() if o != 0.0},
        )
    return FeatureCalibration(name, temperature, fine_classes, gate, fits, feature_names)
