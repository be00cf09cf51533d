"""``LabelAnalyzer``: Rekognition DetectLabels-shaped labels from bundled models, offline.

EfficientNet-Lite (ImageNet-1k) classifies; its confidences are temperature-scaled and summed
up the WordNet hierarchy, then capped or calibrated. Person and face detectors add ``Person`` and
``Face`` with ``Instances`` (boxes), an object detector (``lite0-objects``) everyday objects.
``LABEL_MODELS`` names the combinations a user can choose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from eventlens.analyzers.base import Findings, check_label_limits, label_entry
from eventlens.analyzers.labels.calibration import Calibration
from eventlens.analyzers.labels.efficientnet_lite import INPUT_NAME, INPUT_SIZES, LOGITS_NAME
from eventlens.analyzers.labels.label_calibration import (
    EVIDENCE_FILE,
    FeatureCalibration,
    bundled,
    probabilities,
)
from eventlens.analyzers.labels.label_evidence import EVIDENCE_MIN_SCORE, evidence
from eventlens.analyzers.labels.model_cache import build_model
from eventlens.analyzers.labels.preprocess import resize_for, to_input, whole_input
from eventlens.analyzers.labels.taxonomy import Taxonomy, load_taxonomy
from eventlens.analyzers.model import Lazy, ModelAnalyzer
from eventlens.imaging import ImageInput
from eventlens.workers import map_in_pool

if TYPE_CHECKING:
    from eventlens.analyzers.objects.object_labels import ObjectFinder
    from eventlens.analyzers.objects.people_labels import PeopleFinder

#: 3: scene labels (Outdoors), reparented classes; 4: Text a scene label; 5: consistent parents,
#: a sawmill no longer a Plant; 6: broad labels at the fitted temperature, aircraft Outdoors
CLASSIFIER_VERSION = "imagenet/6"
#: Images per ONNX Runtime call; bigger batches gain little on CPU and cost ~8 MB RAM each.
MAX_BATCH = 8


@dataclass(frozen=True, slots=True)
class LabelModel:
    """A named label model: how the classifier's probabilities become label confidences, and
    whether people are detected.

    ``temperature`` divides the logits before the softmax (below 1 sharpens, above 1 softens);
    a parent label's confidence is the summed probability of the classes under it."""

    name: str
    temperature: float
    people: bool
    #: the EfficientNet-Lite variant: lite0 (a dependency), lite1 or lite2 (extras)
    classifier: str = "lite0"
    #: WordNet parents edited into useful labels (``label_edits``); off: WordNet as it is.
    label_edits: bool = True
    #: also classify the whole image squeezed to a square (not just the centre crop) and
    #: average the two: sees what the crop cuts off, at twice the classifier's cost
    two_views: bool = False
    #: the highest confidence of a fine-grained label, one that sums at most ``fine_classes``
    #: ImageNet classes (a species, a model, a small family): below 80, such a label is never
    #: "confident"; 100: no cap
    fine_cap: float = 100.0
    fine_classes: int = 1
    #: with the caps, a label this calibrator (fitted on the tuning part) puts at
    #: ``SURE_FROM`` or more shows that confidence, not a lower capped one: the cap stays on the
    #: labels the classifier is unsure of, an obvious tabby reads ``Cat 99``, not 79; None: the
    #: caps hold for every label
    lift: FeatureCalibration | None = None
    #: broad scene labels (``label_edits.SCENE_LABELS``: "Outdoors", "Nature", "Text") get
    #: ``100 * mass ** scene_power``: ImageNet has classes for only a few of the things an
    #: outdoor photo shows, so the summed mass of its outdoor classes understates how likely
    #: the photo is outdoors; 1: the mass as it is
    scene_power: float = 1.0
    #: broad labels (those summing more than ``fine_classes`` classes, scene labels aside) take
    #: their confidence from the softmax at this temperature instead of ``temperature``: the
    #: fitted one, so that "Animal 99" means what it says, while a sharper ``temperature`` only
    #: lifts the capped fine labels over MinConfidence; None: ``temperature`` for every label
    broad_temperature: float | None = None
    #: everyday objects with boxes (NanoDet, COCO's classes) merged into the labels, shown
    #: from this detector score up (confidence 100 x score); None: no object detector
    objects_min_score: float | None = None
    #: NanoDet's person boxes from this score up also make ``Person`` (beside the person and
    #: face detectors); None: people from those detectors only
    objects_person_min_score: float | None = None
    #: confidences calibrated per group of labels (fitted on the tuning part) instead of the
    #: caps (``fine_cap``, ``SCENE_CAP``): Platt scaling of the score (``Calibration``) or a
    #: logistic calibrator on features of the class probabilities (``FeatureCalibration``,
    #: ``label_calibration``); None: the caps
    calibration: Calibration | FeatureCalibration | None = None
    #: the person detector runs again on 2 x 2 tiles when its first pass is unsure
    #: (``people_labels.TILES_BAND``): small and distant people
    people_tiles: bool = False
    #: NanoDet's person class confirms a body the person detector is unsure of
    #: (``people_vote``): two weak detections in the same place make a person
    people_vote: bool = False
    #: NanoDet runs from this score, its boxes evidence for a ``FeatureCalibration`` fitted
    #: with them (``label_evidence``); shown as labels still from ``objects_min_score``;
    #: None: from ``objects_min_score``
    evidence_min_score: float | None = None


#: Temperatures fitted on the evaluation set's tuning part (``bench/eval_labels.py --fit``:
#: the likelihood of "an accepted label is right" is highest at these).
FITTED_TEMPERATURES = {"lite0": 0.85, "lite1": 0.7, "lite2": 0.8}
#: Lite0's calibration for the issue's thresholds, chosen on the tuning part
#: (``bench/eval_labels.py --grid``): a sharper softmax puts a label >= 55 on most photos, and
#: labels summing <= 60 classes (species, models, small families) stay below 80, where on the
#: tuning part they were right about 6 times in 10.
LITE0_TEMPERATURE, FINE_CAP, FINE_CLASSES = 0.5, 79.0, 60
#: On the tuning part every photo whose outdoor classes summed >= 0.25 was taken outdoors
#: (``bench/eval_labels.py --grid``): 0.25 ** 0.4 = 0.57 puts "Outdoors" over MinConfidence 55.
SCENE_POWER = 0.4
#: "Outdoors", "Nature" and "Text" sum classes that also show elsewhere (boats, fences and plants
#: indoors; a slide rule without writing): they stay below 80 for every model, as the
#: fine-grained labels do for Lite0.
SCENE_CAP = 79.0
#: a calibrated confidence from which a capped label is lifted (``LabelModel.lift``): chosen on
#: the tuning part's cross-validation (bench/RESULTS.md, "the cap lifted where the calibrator
#: is sure"), where labels calibrated >= 95 were right 95 % of the time
SURE_FROM = 95.0


#: NanoDet detections from this score up become labels (confidence 100 x score, which the
#: tuning photos bear out: its labels were right 13 of 25 times at scores 0.5-0.6, 10 of 15 at
#: 0.6-0.7, 11 of 13 above, ``bench/object_levers.py``). In the label model on the tuning part,
#: 0.6 rather than 0.5 dropped 5 wrong labels and 2 right ones (``bench/eval_labels.py``).
OBJECTS_MIN_SCORE = 0.6


#: Platt scaling per label group on the softmax at the fitted temperature, fitted on the tuning
#: part's 119 photos (``bench/eval_labels.py --calibrate``; every label scored >= 20: 402 fine
#: labels, 47 % right; 60 broad, 60 %; 106 scene labels, 68 %). On the tuning part the same fit
#: on t = 0.5 (the capped model's) and t = 0.7 scores gave 6 and 2 points more photos without a
#: label and as many confidently wrong ones.
CALIBRATION = Calibration(
    {"fine": (0.68, -0.5), "broad": (1.48, -1.3), "scene": (1.18, 0.55)},
    fine_classes=60,
    name="platt-tune119",
)


def _calibrated(name: str, calibration: Calibration | FeatureCalibration) -> LabelModel:
    """Lite0 and its detectors at the fitted temperature, calibrated instead of capped."""
    return LabelModel(
        name,
        FITTED_TEMPERATURES["lite0"],
        people=True,
        fine_classes=calibration.fine_classes,
        scene_power=SCENE_POWER,
        calibration=calibration,
    )


def _lite0(name: str, people: bool, objects_min_score: float | None = None) -> LabelModel:
    return LabelModel(
        name,
        LITE0_TEMPERATURE,
        people,
        fine_cap=FINE_CAP,
        fine_classes=FINE_CLASSES,
        scene_power=SCENE_POWER,
        broad_temperature=FITTED_TEMPERATURES["lite0"],
        objects_min_score=objects_min_score,
    )


LABEL_MODELS = {
    "lite0-people": _lite0("lite0-people", people=True),
    "lite0-objects": _lite0("lite0-objects", people=True, objects_min_score=OBJECTS_MIN_SCORE),
    "lite0-people-tiles": replace(_lite0("lite0-people-tiles", people=True), people_tiles=True),
    # issue 20 item 2: the tiles, then NanoDet's vote on an unsure body (``people_vote``)
    "lite0-people-vote": replace(
        _lite0("lite0-people-vote", people=True), people_tiles=True, people_vote=True
    ),
    # issue 20 item 3: features + per-label offsets + the gate (``label_calibration``)
    "lite0-calibrated": _calibrated("lite0-calibrated", bundled()),
    "lite0-calibrated-platt": _calibrated("lite0-calibrated-platt", CALIBRATION),
    # + the detectors' evidence (NanoDet's boxes, the person detectors') among the features
    "lite0-evidence": replace(
        _calibrated("lite0-evidence", bundled(EVIDENCE_FILE)),
        objects_min_score=OBJECTS_MIN_SCORE,
        evidence_min_score=EVIDENCE_MIN_SCORE,
    ),
    # the caps, lifted where the calibrator is sure (``LabelModel.lift``)
    "lite0-people-sure": replace(_lite0("lite0-people-sure", people=True), lift=bundled()),
    "lite0": _lite0("lite0", people=False),
    "lite1-people": LabelModel(
        "lite1-people", FITTED_TEMPERATURES["lite1"], people=True, classifier="lite1"
    ),
    "lite2-people": LabelModel(
        "lite2-people", FITTED_TEMPERATURES["lite2"], people=True, classifier="lite2"
    ),
}
DEFAULT_LABEL_MODEL = "lite0-people"
MODEL_VERSION = f"efficientnet-lite0-{CLASSIFIER_VERSION}"  # LabelModelVersion of lite0


def label_model(name: str) -> LabelModel:
    try:
        return LABEL_MODELS[name]
    except KeyError:
        known = ", ".join(LABEL_MODELS)
        raise ValueError(f"unknown label model {name!r} (available: {known})") from None


class Classifier(NamedTuple):
    """The loaded classifier: its ONNX Runtime session and the labels its classes add up to."""

    session: Any
    taxonomy: Taxonomy


class LabelAnalyzer(ModelAnalyzer[Classifier]):
    """Labels an image with ImageNet classes plus their WordNet parents ("Cat", "Animal" ...)
    and ``Person`` with boxes.

    A parent label's confidence is the summed probability of all classes under it, so "Dog"
    collects every breed. Runs offline on CPU with ONNX Runtime.
    """

    name = "labels"
    method = "bundled-efficientnet-lite0"

    def __init__(
        self,
        max_labels: int = 10,
        min_confidence: float = 55.0,
        intra_op_threads: int | None = None,
        *,
        model: str | LabelModel = DEFAULT_LABEL_MODEL,
        model_path: Path | None = None,
        taxonomy: Taxonomy | None = None,
    ) -> None:
        """``model`` is a name from ``LABEL_MODELS`` or a ``LabelModel``; ``model_path``
        overrides the cached classifier built by ``build_model()``; ``taxonomy`` the bundled
        one (a variant to measure, ``bench/label_levers.py``)."""
        check_label_limits(max_labels, min_confidence)
        super().__init__(intra_op_threads)
        self.max_labels = max_labels
        self.min_confidence = min_confidence
        self.model = label_model(model) if isinstance(model, str) else model
        self.method = f"bundled-efficientnet-{self.model.classifier}"
        self.crop = INPUT_SIZES[self.model.classifier]
        self.model_path = model_path
        self._taxonomy = taxonomy
        self._people: Lazy[PeopleFinder | None] = Lazy(self._find_people)
        self._objects: Lazy[ObjectFinder | None] = Lazy(self._find_objects)

    @property
    def model_version(self) -> str:
        # the settings change the stored labels, so a change must trigger re-analysis
        finder = self._people.get()
        people = f"+{finder.version}" if finder is not None else ""
        objects = self._objects.get()
        people += f"+{objects.version}" if objects is not None else ""
        return (
            f"{self.model.name}:efficientnet-{self.model.classifier}-{CLASSIFIER_VERSION}"
            f"(t={self.model.temperature:g}{self._broad_version}"
            f"{',edited' if self.model.label_edits else ''}"
            f"{',two-views' if self.model.two_views else ''}"
            f"{self._cap_version}){people}"
            f"(max_labels={self.max_labels},min_confidence={self.min_confidence:g})"
        )

    @property
    def _broad_version(self) -> str:
        broad = self.model.broad_temperature
        return f",broad-t={broad:g}" if broad not in (None, self.model.temperature) else ""

    @property
    def _cap_version(self) -> str:
        if self.model.calibration is not None:
            power = f"^{self.model.scene_power:g}" if self.model.scene_power != 1.0 else ""
            return f",scene{power},calibrated={self.model.calibration.name}"
        fine = (
            f",fine-cap={self.model.fine_cap:g}/{self.model.fine_classes}"
            if self.model.fine_cap < 100
            else ""
        )
        power = f"^{self.model.scene_power:g}" if self.model.scene_power != 1.0 else ""
        scene = f",scene{power}-cap={SCENE_CAP:g}" if self.model.label_edits else ""
        lift = (
            f",lifted>={SURE_FROM:g}:{self.model.lift.name}" if self.model.lift is not None else ""
        )
        return fine + scene + lift

    def load(self) -> None:
        super().load()
        for finder in (self._people.get(), self._objects.get()):
            if finder is not None:
                finder.load()

    def _open(self) -> Classifier:
        taxonomy = self._taxonomy or load_taxonomy(self.model.label_edits)
        path = self.model_path or build_model(variant=self.model.classifier)
        return Classifier(self.session(path), taxonomy)

    def _find_people(self) -> PeopleFinder | None:
        """The ``PeopleFinder`` when this model detects people and a detector is installed."""
        if not self.model.people:
            return None
        from eventlens.analyzers.objects.people_labels import PeopleFinder

        return (
            PeopleFinder(
                self.intra_op_threads, tiles=self.model.people_tiles, vote=self.model.people_vote
            )
            or None
        )

    def _find_objects(self) -> ObjectFinder | None:
        """The ``ObjectFinder`` when this model detects objects and the detector is installed."""
        if self.model.objects_min_score is None:
            return None
        from eventlens.analyzers.objects.object_labels import ObjectFinder

        finder = ObjectFinder(
            self.intra_op_threads,
            min_score=self.model.evidence_min_score or self.model.objects_min_score,
            person_min_score=self.model.objects_person_min_score,
        )
        return finder or None

    def analyze(self, image: ImageInput) -> Findings:
        result = self.analyze_batch([image])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def analyze_batch(self, images: Sequence[ImageInput]) -> list[Findings | Exception]:
        """Decode each image (failures are returned in place), then classify them together in
        one ONNX Runtime call per ``MAX_BATCH`` images, and detect people and objects likewise."""
        finder = self._people.get()
        objects = self._objects.get()
        results: list[Findings | Exception | None] = [None] * len(images)
        prepared_ok: list[_Prepared] = []
        positions = []
        prepare = lambda im: _prepare(  # noqa: E731
            im, self.crop, self.model.two_views, finder, objects
        )
        for i, prepared in enumerate(map_in_pool(prepare, images)):
            if isinstance(prepared, Exception):
                results[i] = prepared
            else:
                prepared_ok.append(prepared)
                positions.append(i)
        if prepared_ok:
            session, taxonomy = self.loaded()
            for start in range(0, len(prepared_ok), MAX_BATCH):
                chunk = prepared_ok[start : start + MAX_BATCH]
                logits = self.logits(session, [p.classifier for p in chunk])
                scores = self.scores(logits, taxonomy)
                if self.model.two_views:
                    views = [p.whole for p in chunk if p.whole is not None]
                    whole = self.classify(session, taxonomy, views)
                    scores = (scores + whole) / 2
                people = (
                    finder.detect([p.people for p in chunk])
                    if finder is not None
                    else [None for _ in chunk]
                )
                things = (
                    objects.detect([p.objects for p in chunk])
                    if objects is not None
                    else [None for _ in chunk]
                )
                confidences = self.confidences(scores, taxonomy, logits, people, things)
                for i, row, confidence_row, found, seen in zip(
                    positions[start : start + MAX_BATCH],
                    scores,
                    confidences,
                    people,
                    things,
                    strict=True,
                ):
                    results[i] = self._findings(row, confidence_row, taxonomy, found, seen)
        return [r for r in results if r is not None]

    def classify(
        self, session: Any, taxonomy: Taxonomy, inputs: list[np.ndarray[Any, Any]]
    ) -> np.ndarray[Any, Any]:
        """Label scores (0..100) per image, one column per taxonomy label (before the caps of
        ``confidences``)."""
        return self.scores(self.logits(session, inputs), taxonomy)

    @staticmethod
    def logits(session: Any, inputs: list[np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
        """The classifier's logits [n, 1000] for preprocessed inputs."""
        (logits,) = session.run([LOGITS_NAME], {INPUT_NAME: np.stack(inputs)})
        return np.asarray(logits, np.float64)

    def scores(self, logits: np.ndarray[Any, Any], taxonomy: Taxonomy) -> np.ndarray[Any, Any]:
        """Logits -> label scores (0..100), as ``classify``."""
        scores = _label_scores(logits, self.model.temperature, taxonomy)
        broad_temperature = self.model.broad_temperature
        if broad_temperature is None or broad_temperature == self.model.temperature:
            return scores
        broad = (taxonomy.class_counts > self.model.fine_classes) & ~taxonomy.scene
        return np.where(broad, _label_scores(logits, broad_temperature, taxonomy), scores)

    def confidences(
        self,
        scores: np.ndarray[Any, Any],
        taxonomy: Taxonomy,
        logits: np.ndarray[Any, Any] | None = None,
        people: Sequence[Any] = (),
        objects: Sequence[Any] = (),
    ) -> np.ndarray[Any, Any]:
        """Scores (one image's row, or a batch's rows) as label confidences: fine-grained labels
        capped at ``fine_cap``, broad scene labels at ``SCENE_CAP`` whatever the model (a scene
        is never a confident label), or calibrated per group when the model has a calibration
        (a ``FeatureCalibration`` needs the batch's ``logits``: its features come from the
        class probabilities; with two views, from the centre crop's; one fitted with evidence
        also each image's ``people`` and ``objects`` findings, None where a detector is off)."""
        calibration = self.model.calibration
        if isinstance(calibration, FeatureCalibration):
            if logits is None:
                raise ValueError(f"{self.model.name}: its calibration needs the logits")
            probs = probabilities(logits, calibration.temperature)
            label_scores = np.minimum(taxonomy.label_sums(probs) * 100.0, 100.0)
            found = (
                evidence(
                    taxonomy,
                    list(objects) or [None] * len(probs),
                    list(people) or [None] * len(probs),
                )
                if calibration.evidence
                else None
            )
            uncapped = self.uncapped(label_scores, taxonomy)
            return calibration.apply(probs, uncapped, taxonomy, found)
        scores = self.uncapped(scores, taxonomy)
        if calibration is not None:
            return calibration.apply(scores, taxonomy)
        fine = taxonomy.class_counts <= self.model.fine_classes
        caps = np.where(fine, self.model.fine_cap, 100.0)
        caps = np.where(taxonomy.scene, np.minimum(caps, SCENE_CAP), caps)
        capped = np.minimum(scores, caps)
        lift = self.model.lift
        if lift is None:
            return np.asarray(capped)
        if logits is None:
            raise ValueError(f"{self.model.name}: lifting sure labels needs the logits")
        probs = probabilities(logits, lift.temperature)
        sums = np.minimum(taxonomy.label_sums(probs) * 100.0, 100.0)
        sure = lift.apply(probs, self.uncapped(sums, taxonomy), taxonomy)
        return np.asarray(np.where(sure >= SURE_FROM, np.maximum(sure, capped), capped))

    def uncapped(self, scores: np.ndarray[Any, Any], taxonomy: Taxonomy) -> np.ndarray[Any, Any]:
        """Scores with scene labels raised to ``scene_power``, before caps or calibration."""
        if self.model.scene_power == 1.0:
            return scores
        scores = scores.copy()
        scene = scores[..., taxonomy.scene]
        scores[..., taxonomy.scene] = 100.0 * (scene / 100.0) ** self.model.scene_power
        return scores

    def _findings(
        self,
        scores: np.ndarray[Any, Any],
        confidences: np.ndarray[Any, Any],
        taxonomy: Taxonomy,
        people: Any,
        objects: Any = None,
    ) -> Findings:
        candidates: list[tuple[float, int, dict[str, Any]]] = []
        # by confidence, and among equal (capped) ones by the classifier's own score
        order = np.lexsort((np.arange(scores.size), -scores, -confidences))
        for rank, idx in enumerate(order[: self.max_labels]):
            confidence = float(confidences[idx])
            if confidence < self.min_confidence:
                break
            label = label_entry(taxonomy.names[idx], confidence, parents=taxonomy.parents[idx])
            candidates.append((confidence, rank + 1, label))
        if people is not None:
            from eventlens.analyzers.objects.people_labels import labels as people_labels

            named = {label["Name"]: i for i, (_, _, label) in enumerate(candidates)}
            for label in people_labels(people, self.min_confidence):
                if self.model.evidence_min_score is not None and label["Name"] in named:
                    # one Person: the calibrated one (its evidence the detectors') with boxes
                    i = named[label["Name"]]
                    confidence, rank, own = candidates[i]
                    candidates[i] = (confidence, rank, {**own, "Instances": label["Instances"]})
                    continue
                candidates.append((label["Confidence"], 0, label))
        if objects is not None:
            from eventlens.analyzers.objects.object_labels import merge

            if self.model.evidence_min_score is not None:  # weaker boxes were evidence only
                shown = self.model.objects_min_score or 0.0
                objects = [d for d in objects if d.score >= shown]
            person = self.model.objects_person_min_score
            candidates = merge(
                candidates,
                objects,
                self.min_confidence,
                taxonomy.parents_of,
                person_min_confidence=None if person is None else 100.0 * person,
            )
        candidates.sort(key=lambda c: (-c[0], c[1]))
        labels = [label for _, _, label in candidates[: self.max_labels]]
        version = f"efficientnet-{self.model.classifier}-{CLASSIFIER_VERSION}"
        return {"Labels": labels, "LabelModelVersion": version}


def _label_scores(
    logits: np.ndarray[Any, Any], temperature: float, taxonomy: Taxonomy
) -> np.ndarray[Any, Any]:
    """Each label's summed class probability (0..100) under the softmax at ``temperature``."""
    scaled = logits / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    probs = np.exp(scaled)
    probs /= probs.sum(axis=1, keepdims=True)
    return np.asarray(np.minimum(taxonomy.label_sums(probs) * 100.0, 100.0))


@dataclass(frozen=True, slots=True)
class _Prepared:
    classifier: np.ndarray[Any, Any]
    people: Any  # the PeopleFinder's inputs, when there is one
    whole: np.ndarray[Any, Any] | None = None  # the whole image, for two views
    objects: Any = None  # the ObjectFinder's input, when there is one


def _prepare(
    image: ImageInput, crop: int, two_views: bool, finder: Any, objects: Any = None
) -> _Prepared | Exception:
    """Decode and preprocess one image; runs on the shared pool (Pillow releases the GIL)."""
    try:
        decoded = image.decode(min_short_side=resize_for(crop)).image
        people = finder.prepare(decoded) if finder is not None else None
        whole = whole_input(decoded, crop) if two_views else None
        things = objects.prepare(decoded) if objects is not None else None
        return _Prepared(to_input(decoded, crop), people, whole, things)
    except Exception as exc:  # reported per image, like the base class
        return exc
