"""Benchmark the bundled label model: ms/image for single and batched inference.

    .venv/bin/python bench/bench_model.py [--threads N] [--repeat R]

Two scenarios: the network alone on a ready 224x224 input, and the full ``LabelAnalyzer`` path
including the decode of a 12-megapixel JPEG (4000x3000, JPEG draft mode + resize + crop).
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image

from eventlens.analyzers.labels import LabelAnalyzer, build_model
from eventlens.imaging import ImageInput

BATCHES = (1, 8, 16)


def _ms_per_image(fn: Callable[[], object], batch: int, repeat: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000 / batch


def _photo_jpeg(width: int = 4000, height: int = 3000) -> bytes:
    """A 12-MP JPEG of a real photo (skimage's cat if installed), upscaled, with sensor-like
    noise so the file is camera-sized; flat synthetic images decode unrealistically fast."""
    try:
        from skimage import data

        base = Image.fromarray(data.chelsea())  # type: ignore[no-untyped-call]
    except ImportError:
        y, x = np.mgrid[0:300, 0:400].astype(np.float32)
        base = Image.fromarray(
            (np.stack([x / 400, y / 300, x * y / 120000], -1) * 255).astype(np.uint8)
        )
    rgb = np.asarray(base.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32)
    rgb += np.random.default_rng(0).normal(0, 6, rgb.shape).astype(np.float32)
    buf = io.BytesIO()
    Image.fromarray(rgb.clip(0, 255).astype(np.uint8)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="ORT intra-op threads")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    path = build_model()
    options = ort.SessionOptions()
    if args.threads:
        options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    print(f"model: {path.name}, onnxruntime {ort.__version__}, threads={args.threads or 'default'}")

    print("network only, 224x224 input:")
    for batch in BATCHES:
        x = rng.uniform(-1, 1, (batch, 3, 224, 224)).astype(np.float32)

        def infer(x: np.ndarray[Any, Any] = x) -> object:
            return session.run(["probabilities"], {"image": x})

        ms = _ms_per_image(infer, batch, args.repeat)
        print(f"  batch {batch:>2}: {ms:7.1f} ms/image")

    jpeg = _photo_jpeg()
    analyzer = LabelAnalyzer(intra_op_threads=args.threads)
    analyzer.load()
    print(f"LabelAnalyzer incl. 12-MP JPEG decode ({len(jpeg) / 1e6:.1f} MB):")
    for batch in BATCHES:

        def run(batch: int = batch) -> object:
            # Fresh ImageInputs: each caches its decode, which would hide the decode cost.
            return analyzer.analyze_batch([ImageInput(jpeg, f"{i}.jpg") for i in range(batch)])

        print(f"  batch {batch:>2}: {_ms_per_image(run, batch, args.repeat):7.1f} ms/image")


if __name__ == "__main__":
    main()
