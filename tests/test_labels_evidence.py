"""The detectors' evidence in the label calibrator (``lite0-evidence``,
``analyzers.labels.label_evidence``), on real photos where it needs the models."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from eventlens.analyzers.labels import LabelAnalyzer
from eventlens.analyzers.labels import label_calibration as lc
from eventlens.analyzers.labels.analyzer import _prepare
from eventlens.analyzers.labels.label_evidence import EVIDENCE_FEATURES, evidence
from eventlens.analyzers.labels.taxonomy import load_taxonomy
from eventlens.analyzers.objects import coco, nanodet
from eventlens.analyzers.objects.people_labels import Found
from eventlens.analyzers.objects.ssd import Detection
from eventlens.imaging import ImageInput
from tests.labels_support import model_file, photo

needs_nanodet = pytest.mark.skipif(
    not nanodet.is_available(),
    reason="the object detector is not installed (eventlens models install "
    "--label-model lite0-evidence)",
)
CAT = [name for _, name, _ in coco.CLASSES].index("Cat")
FEATURE = {name: i for i, name in enumerate(EVIDENCE_FEATURES)}


def _row(x: np.ndarray[Any, Any], label: str) -> dict[str, float]:
    names = load_taxonomy(True).names
    return {f: float(x[names.index(label), i]) for f, i in FEATURE.items()}


def test_a_cat_box_confirms_cat_and_its_parents_and_is_a_parents_box_for_a_breed() -> None:
    taxonomy = load_taxonomy(True)
    boxes = [Detection((0.0, 0.0, 0.5, 0.5), CAT, 0.9), Detection((0, 0, 1, 1), CAT, 0.4)]
    people = Found(bodies=[Detection((0, 0, 0.2, 0.9), coco.PERSON, 0.7)], faces=[])
    x = evidence(taxonomy, [boxes], [people])[0]
    cat, animal, tabby = _row(x, "Cat"), _row(x, "Animal"), _row(x, "Tabby Cat")
    assert cat["box score at or under the label"] == pytest.approx(0.9)  # the best cat box
    assert cat["box area share"] == pytest.approx(0.25)  # its area, not the weaker box's
    assert animal["box score at or under the label"] == pytest.approx(0.9)
    assert tabby["box score at or under the label"] == 0.0
    assert tabby["box score above the label"] == pytest.approx(0.9)
    dog = _row(x, "Dog")
    assert dog["label a detector class"] == 1.0 and dog["box score at or under the label"] == 0
    assert dog["box score of an unrelated class"] == pytest.approx(0.9)  # it sees a cat
    # the person detectors' score is Person's only: a body says nothing of a Baseball Player
    assert _row(x, "Person")["person detector score"] == pytest.approx(0.7)
    assert _row(x, "Baseball Player")["person detector score"] == 0.0


def test_without_detectors_there_is_no_evidence() -> None:
    x = evidence(load_taxonomy(True), [None, []], [None, Found([], [])])
    assert x.shape[2] == len(EVIDENCE_FEATURES)
    assert not x[:, :, [0, 1, 3, 4, 5]].any()  # "label a detector class" is the taxonomy's


def test_the_evidence_calibration_round_trips_and_needs_the_evidence() -> None:
    bundled = lc.bundled(lc.EVIDENCE_FILE)
    assert lc.from_json(bundled.to_json()) == bundled
    assert bundled.evidence and bundled.features == lc.FEATURES + EVIDENCE_FEATURES
    assert not lc.bundled().evidence  # lite0-calibrated's stays as it was
    taxonomy = load_taxonomy(True)
    probs = np.full((1, 1000), 1e-3)
    scores = np.minimum(taxonomy.label_sums(probs) * 100, 100)
    with pytest.raises(ValueError, match="needs the detectors' evidence"):
        bundled.apply(probs, scores, taxonomy)


@needs_nanodet
def test_a_real_cat_photos_cat_rises_with_nanodets_cat_box_and_passes_the_gate_when_sure() -> None:
    # chelsea, a tabby: NanoDet's own cat box scores 0.46 (below its "person" box), so Cat stays
    # gated at 79 beside a sure Animal; the same photo with that box's score raised (what a
    # confirming detector would say) gets a higher Cat, past the gate at 0.95
    analyzer = LabelAnalyzer(model="lite0-evidence", model_path=model_file())
    image = ImageInput(photo("chelsea"), "cat.jpg")
    found = {lab["Name"]: lab["Confidence"] for lab in analyzer.analyze(image)["Labels"]}
    assert found["Animal"] >= 95 and 55 <= found["Cat"] < 80
    session, taxonomy = analyzer.loaded()
    people, objects = analyzer._people.get(), analyzer._objects.get()
    prepared = _prepare(image, analyzer.crop, False, people, objects)
    assert not isinstance(prepared, Exception) and objects is not None and people is not None
    logits = analyzer.logits(session, [prepared.classifier])
    scores = analyzer.scores(logits, taxonomy)
    found_people = people.detect([prepared.people])
    seen = objects.detect([prepared.objects])[0]
    best = max((d for d in seen if d.class_id == CAT), key=lambda d: d.score)
    assert best.score < 0.6
    calibration = analyzer.model.calibration
    assert isinstance(calibration, lc.FeatureCalibration)
    cat = taxonomy.names.index("Cat")
    raw = []
    for score in (best.score, 0.8, 0.95):
        boxes = [replace(d, score=score) if d is best else d for d in seen]
        probs = lc.probabilities(logits, calibration.temperature)
        sums = analyzer.uncapped(np.minimum(taxonomy.label_sums(probs) * 100, 100), taxonomy)
        x = np.concatenate(
            [lc.features(probs, sums, taxonomy), evidence(taxonomy, [boxes], found_people)], axis=2
        )
        raw.append(calibration.calibrated(x, taxonomy)[0, cat])
        shown = analyzer.confidences(scores, taxonomy, logits, found_people, [boxes])[0, cat]
        assert shown == lc.gated(np.array(raw[-1:]), calibration.gate)[0]  # as shown
    assert raw[0] < raw[1] < raw[2] and raw[2] >= calibration.gate


@needs_nanodet
def test_an_unconfirmed_wrong_label_stays_below_80_and_people_are_one_person() -> None:
    analyzer = LabelAnalyzer(model="lite0-evidence", model_path=model_file())
    moon = analyzer.analyze(ImageInput(photo("moon"), "moon.jpg"))["Labels"]
    assert moon and all(lab["Confidence"] < 80 for lab in moon)  # e.g. Animal: no box agrees
    astronaut = analyzer.analyze(ImageInput(photo("astronaut"), "astronaut.jpg"))["Labels"]
    person = [lab for lab in astronaut if lab["Name"] == "Person"]
    assert len(person) == 1 and person[0]["Confidence"] >= 90 and person[0]["Instances"]
    assert "+nanodet-coco/" in analyzer.model_version
    assert "calibrated=evidence-tune" in analyzer.model_version
