"""Per-group calibration of label confidences (``analyzers.labels.calibration``)."""

from __future__ import annotations

import numpy as np
import pytest

from eventlens.analyzers.labels import LabelAnalyzer
from eventlens.analyzers.labels.calibration import Calibration, fit_platt, logit
from eventlens.analyzers.labels.taxonomy import load_taxonomy
from eventlens.imaging import ImageInput
from tests.labels_support import model_file, photo


def test_platt_fit_recovers_the_slope_and_offset_that_made_the_outcomes() -> None:
    rng = np.random.default_rng(3)
    scores = rng.uniform(1, 99, size=5_000)
    truth = 1 / (1 + np.exp(-(0.6 * logit(scores) - 0.4)))
    right = rng.uniform(size=scores.size) < truth
    slope, offset = fit_platt(scores, right)
    assert slope == pytest.approx(0.6, abs=0.06)
    assert offset == pytest.approx(-0.4, abs=0.12)


def test_each_group_gets_its_own_mapping_and_order_within_a_group_is_kept() -> None:
    taxonomy = load_taxonomy(True)
    calibration = Calibration(
        {"fine": (1.0, -1.0), "broad": (1.0, 0.0), "scene": (0.5, 0.0)}, 60, "test"
    )
    names = list(taxonomy.names)
    cat, animal, outdoors = names.index("Cat"), names.index("Animal"), names.index("Outdoors")
    scores = np.full((1, len(names)), 80.0)
    out = calibration.apply(scores, taxonomy)[0]
    assert out[animal] == pytest.approx(80.0)  # broad: identity
    assert out[cat] == pytest.approx(100 / (1 + np.exp(-(np.log(4) - 1))))  # fine: lowered
    assert out[outdoors] == pytest.approx(100 / (1 + np.exp(-0.5 * np.log(4))))  # 2/3
    rising = np.linspace(1, 99, len(names))[None, :]
    fine = calibration.groups(taxonomy) == 0
    assert np.all(np.diff(calibration.apply(rising, taxonomy)[0][fine]) > 0)


def test_platt_calibration_gives_an_obvious_cat_its_label_at_90_where_the_cap_said_79() -> None:
    capped = LabelAnalyzer(model="lite0-people", model_path=model_file())
    calibrated = LabelAnalyzer(model="lite0-calibrated-platt", model_path=model_file())
    image = ImageInput(photo("chelsea"), "cat.jpg")  # a tabby cat filling the frame
    before = {lab["Name"]: lab["Confidence"] for lab in capped.analyze(image)["Labels"]}
    after = {lab["Name"]: lab["Confidence"] for lab in calibrated.analyze(image)["Labels"]}
    assert before["Cat"] == 79.0
    assert after["Cat"] >= 90.0 and after["Animal"] >= 95.0
    assert "calibrated=platt-tune119" in calibrated.model_version
    assert "fine-cap" not in calibrated.model_version and "fine-cap" in capped.model_version
