"""The label evaluation's scoring (``bench/eval_labels.py``), on hand-made labels."""

from __future__ import annotations

import pytest
from bench.eval_labels import Bin, Counts, by_category, confidently_wrong, reliability, score


def _photo(accepted: list[str], person: bool = False) -> dict[str, object]:
    return {"id": "x", "accepted": accepted, "person": person, "category": "pets"}


def _label(name: str, confidence: float) -> dict[str, object]:
    return {"Name": name, "Confidence": confidence}


def test_score_counts_hits_misses_and_the_share_of_shown_labels_that_are_accepted() -> None:
    photos = [_photo(["Cat", "Animal"]), _photo(["Person"], person=True), _photo(["Tree"])]
    labels = [
        [_label("Animal", 99), _label("Dog", 85), _label("cat", 70)],  # hit, confident wrong
        [_label("Person", 90)],
        [],  # no label
    ]
    s = score(photos, labels, 12.0)
    assert (s.photos, s.top5, s.no_label, s.confident_wrong) == (3, 2 / 3, 1 / 3, 1 / 3)
    assert (s.person_recall, s.person_precision) == (1.0, 1.0)
    assert s.label_precision == pytest.approx(3 / 4)  # Dog is the one shown label not accepted
    assert s.right_at_90 == pytest.approx(2 / 3)  # Animal 99 and Person 90; not cat at 70
    # shown at (99 + 85 + 70 + 90) / 4 = 86 % on average, right 75 % of the time
    assert s.calibration_gap == pytest.approx(0.86 - 0.75)


def test_reliability_bins_shown_labels_by_ten_points_with_100_in_the_last() -> None:
    photos = [_photo(["Cat", "Animal"]), _photo(["Dog"])]
    labels = [
        [_label("Animal", 100), _label("Cat", 92), _label("Dog", 95), _label("Cat", 55)],
        [_label("Dog", 58), _label("Wolf", 61)],
    ]
    assert reliability(photos, labels) == [
        Bin(50, 2, 56.5, 1.0),
        Bin(60, 1, 61.0, 0.0),
        Bin(90, 3, (100 + 92 + 95) / 3, 2 / 3),
    ]


def test_a_wrong_label_below_80_is_not_confidently_wrong() -> None:
    assert not confidently_wrong(_photo(["Cat"]), [_label("Dog", 79.9)])
    assert confidently_wrong(_photo(["Cat"]), [_label("Dog", 80.0)])


def test_by_category_counts_each_categorys_unlabelled_wrong_and_sure_photos() -> None:
    pets = [_photo(["Cat", "Animal"]), _photo(["Dog"]), _photo(["Cat"])]
    plant = {**_photo(["Plant"]), "category": "plants"}
    labels = [
        [_label("Animal", 99)],  # right and sure
        [_label("Wolf", 85)],  # confidently wrong
        [],  # no label
        [_label("Plant", 89.9)],  # right, not sure
    ]
    assert by_category([*pets, plant], labels) == {
        "pets": Counts(photos=3, no_label=1, confident_wrong=1, right_at_90=1),
        "plants": Counts(photos=1, no_label=0, confident_wrong=0, right_at_90=0),
    }
