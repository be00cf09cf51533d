"""People by two detectors' vote (issue 20 item 2, ``lite0-people-vote``): a body the person
detector is unsure of, confirmed by NanoDet's person class.

``fixtures/taiko-festival.webp``: taiko drummers at a night festival (public domain, takami
torao, via Wikimedia Commons; shipped in Debian's gcompris-qt-data 3.1-2 as
``explore_world_music/resource/music/japan.webp``), the evaluation set's tuning photo
``taiko-festival``: a small figure in the dark that the person detector scores 0.46 on the
whole photo and its tiles do not lift over 0.55.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eventlens.analyzers.labels import LabelAnalyzer
from eventlens.analyzers.labels.analyzer import LABEL_MODELS
from eventlens.analyzers.model_packages import OBJECT_DETECTOR, optional
from eventlens.analyzers.objects import nanodet, people, people_vote
from eventlens.analyzers.objects.ssd import Detection
from eventlens.imaging import ImageInput
from tests.labels_support import model_file, photo

needs_detectors = pytest.mark.skipif(
    not (people.is_available() and nanodet.is_available()),
    reason=f"the person detector or NanoDet is not installed (scripts/setup; {nanodet.INSTALL})",
)
TAIKO = Path(__file__).parent / "fixtures" / "taiko-festival.webp"


def test_an_unsure_body_that_nanodet_sees_too_is_a_person() -> None:
    body = Detection((0.2, 0.4, 0.3, 0.8), 1, 0.45)
    elsewhere = Detection((0.7, 0.1, 0.8, 0.3), 1, 0.42)
    nano = Detection((0.21, 0.42, 0.31, 0.8), 0, 0.3)
    confirmed, other = people_vote.confirm([elsewhere, body], [nano])
    assert confirmed.box == body.box
    assert confirmed.score == pytest.approx(1 - 0.55 * 0.7)  # noisy-OR, over SHOWN
    assert other == elsewhere  # nothing of NanoDet's there: unchanged


def test_the_vote_needs_two_detections_strong_enough_and_in_the_same_place() -> None:
    body = Detection((0.2, 0.4, 0.3, 0.8), 1, 0.45)
    weak_body = Detection(body.box, 1, people_vote.BODY_MIN - 0.01)
    weak_nano = Detection(body.box, 0, people_vote.NANODET_MIN - 0.01)
    beside = Detection((0.3, 0.4, 0.4, 0.8), 0, 0.9)  # touching, no overlap
    assert people_vote.confirm([weak_body], [Detection(body.box, 0, 0.9)]) == [weak_body]
    assert people_vote.confirm([body], [weak_nano, beside]) == [body]
    # a low noisy-OR is still shown at SHOWN: both detectors saw it
    low = people_vote.confirm([Detection(body.box, 1, 0.4)], [Detection(body.box, 0, 0.2)])
    assert low[0].score == people_vote.SHOWN


def test_nanodet_runs_only_when_it_can_change_the_answer() -> None:
    def at(score: float) -> list[Detection]:
        return [Detection((0.0, 0.0, 0.5, 0.5), 1, score)]

    assert not people_vote.needs_vote([])
    assert not people_vote.needs_vote(at(people_vote.BODY_MIN - 0.01))
    assert people_vote.needs_vote(at(people_vote.BODY_MIN))
    assert not people_vote.needs_vote(at(people_vote.SHOWN))  # shown anyway


def test_models_install_fetches_nanodet_for_the_vote() -> None:
    assert optional(LABEL_MODELS["lite0-people-vote"]) == [OBJECT_DETECTOR]


def _person(analyzer: LabelAnalyzer, data: bytes, name: str = "x.jpg") -> dict[str, Any] | None:
    labels = analyzer.analyze(ImageInput(data, name))["Labels"]
    return next((lab for lab in labels if lab["Name"] == "Person"), None)


@pytest.fixture(scope="module")
def vote() -> LabelAnalyzer:
    a = LabelAnalyzer(model="lite0-people-vote", model_path=model_file())
    a.load()
    return a


@needs_detectors
def test_the_small_drummer_in_the_dark_is_found_only_with_the_vote(vote: LabelAnalyzer) -> None:
    data = TAIKO.read_bytes()
    tiles = LabelAnalyzer(model="lite0-people-tiles", model_path=model_file())
    assert _person(tiles, data, "taiko.webp") is None
    person = _person(vote, data, "taiko.webp")
    assert person is not None and 55 <= person["Confidence"] < 80  # shown, never confident
    (instance,) = person["Instances"]
    box = instance["BoundingBox"]
    assert box["Width"] < 0.1 and box["Height"] < 0.3  # a small figure
    assert "+vote-nanodet-coco/" in vote.model_version


@needs_detectors
@pytest.mark.parametrize("name", ["chelsea", "coffee", "rocket"])
def test_the_vote_finds_no_person_where_there_is_none(vote: LabelAnalyzer, name: str) -> None:
    assert _person(vote, photo(name)) is None
