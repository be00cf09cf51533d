"""Check the MTCNN ONNX graphs against facenet-pytorch's own networks (dev-time only).

torch is never an eventlens dependency; run this from a throwaway venv outside the repo:

    python3 -m venv /tmp/mtcnn-torchvenv
    /tmp/mtcnn-torchvenv/bin/pip install torch numpy onnxruntime pillow scikit-image platformdirs
    /tmp/mtcnn-torchvenv/bin/pip install --no-deps facenet-pytorch==2.6.0
    PYTHONPATH=src /tmp/mtcnn-torchvenv/bin/python scripts/verify_mtcnn_against_torch.py

It compares the state dicts read by ``torch_pickle`` with ``torch.load`` and the outputs of
P-, R- and O-Net (facenet-pytorch's ``nn.Module``s, imported from its ``models.mtcnn``) with
the ONNX graphs on real face crops and noise.
"""

from __future__ import annotations

import io
import sys
import types

import numpy as np
import onnxruntime as ort
import torch

# facenet-pytorch imports torchvision at module level only for its detection helpers, which
# are not used here; PyPI's torchvision does not import beside current torch, so stub it.
for _name in ("torchvision", "torchvision.transforms", "torchvision.ops", "torchvision.ops.boxes"):
    sys.modules.setdefault(_name, types.ModuleType(_name))
sys.modules["torchvision.transforms"].functional = types.ModuleType("functional")  # type: ignore[attr-defined]


def _batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, threshold: float
) -> torch.Tensor:
    """torchvision.ops.batched_nms (IoU with areas (x2 - x1) * (y2 - y1)), for the stub."""
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.int64)
    shifted = boxes + (idxs.to(boxes) * (boxes.max() + 1))[:, None]
    area = (shifted[:, 2] - shifted[:, 0]) * (shifted[:, 3] - shifted[:, 1])
    order = scores.argsort(descending=True)
    keep = []
    while order.numel():
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        lt = torch.maximum(shifted[i, :2], shifted[rest, :2])
        rb = torch.minimum(shifted[i, 2:], shifted[rest, 2:])
        inter = (rb - lt).clamp(min=0).prod(dim=1)
        iou = inter / (area[i] + area[rest] - inter)
        order = rest[iou <= threshold]
    return torch.tensor(keep, dtype=torch.int64)


sys.modules["torchvision.ops.boxes"].batched_nms = _batched_nms  # type: ignore[attr-defined]

from facenet_pytorch.models.mtcnn import MTCNN, ONet, PNet, RNet  # noqa: E402
from PIL import Image  # noqa: E402
from skimage import data  # noqa: E402

from eventlens.analyzers.faces import FaceAnalyzer, nets  # noqa: E402
from eventlens.convert.torch_pickle import load_state_dict  # noqa: E402
from eventlens.imaging import ImageInput  # noqa: E402


def _inputs(size: int | tuple[int, int], count: int) -> np.ndarray:
    face = Image.fromarray(data.astronaut()).crop((170, 50, 290, 190))
    h, w = (size, size) if isinstance(size, int) else size
    real = np.asarray(face.resize((w, h)), dtype=np.float32)
    noise = np.random.default_rng(0).uniform(0, 255, (count - 1, h, w, 3)).astype(np.float32)
    batch = np.concatenate([real[None], noise])
    return ((batch - 127.5) * 0.0078125).transpose(0, 3, 1, 2).copy()


def main() -> None:
    for name, module, build, size, outputs in (
        ("pnet", PNet(pretrained=True), nets.pnet, (120, 160), ["reg", "prob"]),
        ("rnet", RNet(pretrained=True), nets.rnet, 24, ["reg", "prob"]),
        ("onet", ONet(pretrained=True), nets.onet, 48, ["reg", "landmarks", "prob"]),
    ):
        path = nets.weights_path(name)
        ours = load_state_dict(path)
        theirs = torch.load(path, map_location="cpu")
        assert list(ours) == list(theirs), f"{name}: key order differs"
        for key, tensor in theirs.items():
            assert np.array_equal(ours[key], tensor.numpy()), f"{name}: {key} differs"
        session = ort.InferenceSession(build(ours), providers=["CPUExecutionProvider"])
        module.eval()
        count = 1 if name == "pnet" else 6
        x = _inputs(size, count)
        with torch.no_grad():
            reference = [t.numpy() for t in module(torch.from_numpy(x))]
        # facenet-pytorch returns (reg, prob) for P/R-Net and (reg, landmarks, prob) for O-Net
        got = session.run(outputs, {"image": x})
        for out_name, ref, ort_out in zip(outputs, reference, got, strict=True):
            diff = float(np.abs(ref - ort_out).max())
            print(f"{name}.{out_name}: shape {ort_out.shape}, max |diff| {diff:.2e}")
            assert ref.shape == ort_out.shape and diff < 1e-4, f"{name}.{out_name} differs"
    print("ok: state dicts identical, ONNX outputs match facenet-pytorch within 1e-4")
    _compare_cascades()


def _compare_cascades() -> None:
    """Whole detections: facenet-pytorch's MTCNN.detect vs eventlens' FaceAnalyzer."""
    reference = MTCNN(keep_all=True, device="cpu")
    ours = FaceAnalyzer(min_confidence=0.0)
    for name in ("astronaut", "camera", "coffee", "chelsea", "immunohistochemistry"):
        pixels = getattr(data, name)()
        image = Image.fromarray(pixels).convert("RGB")
        boxes, probs = reference.detect(image)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        found = ours.analyze(ImageInput(buffer.getvalue(), name))["FaceDetails"]
        theirs = [] if boxes is None else [(b, p) for b, p in zip(boxes, probs, strict=True)]
        print(f"{name}: facenet-pytorch {len(theirs)} faces, eventlens {len(found)}")
        assert len(theirs) == len(found), name
        w, h = image.size
        for (box, prob), face in zip(theirs, found, strict=True):
            bb = face["BoundingBox"]
            left, top = bb["Left"] * w, bb["Top"] * h
            mine = np.array([left, top, left + bb["Width"] * w, top + bb["Height"] * h])
            box = np.asarray(box, dtype=np.float64)
            diff = float(np.abs(mine - box).max())
            print(f"  box {np.round(box, 1)} vs {np.round(mine, 1)}: max |diff| {diff:.1f} px, "
                  f"confidence {prob * 100:.2f} vs {face['Confidence']:.2f}")  # fmt: skip
            assert diff < 0.05 * max(w, h), f"{name}: boxes differ by {diff:.1f} px"


if __name__ == "__main__":
    main()
