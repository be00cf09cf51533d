"""The feature calibrator of ``lite0-calibrated`` (``analyzers.labels.label_calibration``)."""

from __future__ import annotations

import numpy as np
import pytest

from eventlens.analyzers.labels import LabelAnalyzer
from eventlens.analyzers.labels import label_calibration as lc
from eventlens.analyzers.labels.taxonomy import load_taxonomy
from eventlens.imaging import ImageInput
from tests.labels_support import model_file, photo


def test_logistic_fit_recovers_the_weights_that_made_the_outcomes() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(20_000, 2))
    truth = 1 / (1 + np.exp(-(0.3 + 1.5 * x[:, 0] - 0.8 * x[:, 1])))
    y = (rng.uniform(size=len(x)) < truth).astype(float)
    w = lc.fit_logistic(x, y, lam=0.0)
    assert w == pytest.approx([0.3, 1.5, -0.8], abs=0.08)


def test_per_label_offsets_are_shrunk_toward_the_group_by_their_penalty() -> None:
    # label A is always right, label B never: free offsets split them, a large penalty pools them
    x = np.zeros((200, 1))
    y = np.r_[np.ones(100), np.zeros(100)]
    onehot = np.c_[np.r_[np.ones(100), np.zeros(100)], np.r_[np.zeros(100), np.ones(100)]]
    loose = lc.fit_logistic(x, y, 1.0, onehot, lam_label=1.0)
    tight = lc.fit_logistic(x, y, 1.0, onehot, lam_label=1e6)
    assert loose[2] - loose[3] > 6  # A far above B
    assert abs(tight[2] - tight[3]) < 0.01 and tight[0] == pytest.approx(0.0, abs=1e-6)


def test_the_gate_shows_unsure_confident_labels_as_79_and_keeps_the_rest() -> None:
    out = lc.gated(np.array([50.0, 79.5, 80.0, 94.9, 95.0, 99.0]), 95.0)
    assert out.tolist() == [50.0, 79.5, 79.0, 79.0, 95.0, 99.0]


def test_features_of_a_label_follow_the_class_probabilities() -> None:
    taxonomy = load_taxonomy(True)
    names = list(taxonomy.names)
    probs = np.full((1, 1000), 0.1 / 998)
    cat_classes = np.flatnonzero(taxonomy.membership[:, names.index("Cat")])
    probs[0, cat_classes[0]], probs[0, cat_classes[1]] = 0.6, 0.3
    scores = np.minimum(taxonomy.label_sums(probs) * 100, 100)
    x = lc.features(probs, scores, taxonomy)[0]
    cat, dog = names.index("Cat"), names.index("Dog")
    assert x.shape == (len(names), len(lc.FEATURES))
    assert (x[cat, 1], x[dog, 1]) == (1.0, 0.0)  # the top-1 class is a cat
    assert x[cat, 2] == pytest.approx(np.log(0.6 / 0.4))  # logit of the top-1 probability
    assert x[cat, 3] == pytest.approx(np.log(0.3 / 0.7))  # logit of its margin, 0.3
    assert x[cat, 0] > x[dog, 0] and x[cat, 6] == np.log(taxonomy.class_counts[cat])


def test_the_bundled_calibration_round_trips_through_json_and_labels_a_real_photo() -> None:
    bundled = lc.bundled()
    assert lc.from_json(bundled.to_json()) == bundled
    assert bundled.gate == 95.0 and set(bundled.groups_fit) == {"fine", "broad", "scene"}
    analyzer = LabelAnalyzer(model="lite0-calibrated", model_path=model_file())
    labels = analyzer.analyze(ImageInput(photo("chelsea"), "cat.jpg"))["Labels"]
    found = {lab["Name"]: lab["Confidence"] for lab in labels}
    assert found["Animal"] >= 95 and 55 <= found["Cat"] < 95  # a sure parent, a gated cat
    assert not any(80 <= c < 95 for c in found.values())  # the gate: nothing in [80, 95)
    assert f"calibrated={bundled.name}" in analyzer.model_version


def test_a_feature_calibration_needs_the_logits() -> None:
    analyzer = LabelAnalyzer(model="lite0-calibrated", model_path=model_file())
    taxonomy = load_taxonomy(True)
    with pytest.raises(ValueError, match="needs the logits"):
        analyzer.confidences(np.zeros((1, len(taxonomy.names))), taxonomy)


def test_fit_gives_per_label_offsets_only_with_a_penalty_and_a_fit_per_group() -> None:
    rng = np.random.default_rng(7)
    m = 600
    x = rng.normal(size=(m, len(lc.FEATURES)))
    groups = np.repeat([0, 1, 2], m // 3)
    names = ["Cat" if i % 2 else "Dog" for i in range(m)]
    right = (rng.uniform(size=m) < 1 / (1 + np.exp(-2 * x[:, 0]))).astype(float)
    args = {"name": "t", "temperature": 0.85, "fine_classes": 60, "gate": 95.0}
    pooled = lc.fit(x, right, groups, names, lam_label=0.0, **args)
    offsets = lc.fit(x, right, groups, names, lam_label=3.0, **args)
    assert all(not f.offsets for f in pooled.groups_fit.values())
    assert all(set(f.offsets) <= {"Cat", "Dog"} for f in offsets.groups_fit.values())
    assert all(f.weights[0] > 1.0 for f in pooled.groups_fit.values())  # the score counts most


def test_lite0_people_sure_lifts_only_what_the_calibrator_is_sure_of_on_real_photos() -> None:
    capped = LabelAnalyzer(model="lite0-people", model_path=model_file())
    lifted = LabelAnalyzer(model="lite0-people-sure", model_path=model_file())
    for name in ("coffee", "chelsea"):
        image = ImageInput(photo(name), f"{name}.jpg")
        before = {lab["Name"]: lab["Confidence"] for lab in capped.analyze(image)["Labels"]}
        after = {lab["Name"]: lab["Confidence"] for lab in lifted.analyze(image)["Labels"]}
        raised = {n for n in after if after[n] != before.get(n)}
        assert all(after[n] >= 95 and after[n] > before.get(n, 0) for n in raised)
        assert all(after[n] == c for n, c in before.items() if n not in raised)
        if name == "coffee":  # capped at 79 today, the calibrator is sure of it
            assert before["Food"] == 79 and after["Food"] >= 95
        else:  # the calibrator puts the tabby's Cat at 80-95: the cap stays
            assert before["Cat"] == after["Cat"] == 79
    assert ",lifted>=95:" in lifted.model_version and "lifted" not in capped.model_version
    taxonomy = load_taxonomy(True)
    with pytest.raises(ValueError, match="needs the logits"):
        lifted.confidences(np.zeros((1, len(taxonomy.names))), taxonomy)
