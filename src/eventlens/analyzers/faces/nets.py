"""MTCNN's three networks (P-, R- and O-Net) as ONNX graphs, built from the ``.pt`` state dicts
that ship in the ``facenet-pytorch`` wheel, read without torch (``convert.torch_pickle``).

Layer layout and key names follow ``facenet_pytorch.models.mtcnn``: Conv + PReLU blocks,
ceil-mode max pooling, and for R/O-Net a (0, 3, 2, 1) permute before the dense layers.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from eventlens import settings
from eventlens.analyzers.base import AnalyzerUnavailable
from eventlens.analyzers.model import package_version
from eventlens.convert.onnx_writer import Graph
from eventlens.convert.torch_pickle import load_state_dict

Array = np.ndarray[Any, Any]
PACKAGE = "facenet-pytorch"
NETS = ("pnet", "rnet", "onet")
WEIGHTS_ENV = "EVENTLENS_MTCNN_WEIGHTS"
INSTALL_HINT = (
    "the faces analyzer needs the MTCNN weights from facenet-pytorch, installed WITHOUT its "
    "torch dependency: pip install --no-deps facenet-pytorch==2.6.0 (or extract its "
    f"data/*.pt with scripts/fetch-mtcnn-weights DIR and set {WEIGHTS_ENV}=DIR)"
)


class WeightsMissing(AnalyzerUnavailable):
    pass


def _weights_dir() -> Path | None:
    folder: Path | None = settings.read("mtcnn_weights")
    return folder


def weights_path(net: str) -> Path:
    """``<net>.pt`` from ``$EVENTLENS_MTCNN_WEIGHTS`` (a folder) if set, else
    ``facenet_pytorch/data/<net>.pt`` located through the installed distribution's file list
    (the package itself imports torch, so it is never imported)."""
    folder = _weights_dir()
    if folder is not None:
        path = folder / f"{net}.pt"
        if not path.is_file():
            raise WeightsMissing(f"{path} not found ({WEIGHTS_ENV}={folder})")
        return path
    try:
        files = metadata.files(PACKAGE) or []
    except metadata.PackageNotFoundError as exc:
        raise WeightsMissing(INSTALL_HINT) from exc
    for file in files:
        if file.as_posix().endswith(f"facenet_pytorch/data/{net}.pt"):
            return Path(str(file.locate()))
    raise WeightsMissing(f"{net}.pt not found in {PACKAGE}; {INSTALL_HINT}")


def weights_version() -> str:
    if _weights_dir() is not None:
        digest = hashlib.sha256()
        for net in NETS:
            try:
                digest.update(weights_path(net).read_bytes())
            except WeightsMissing:
                return "mtcnn-weights/missing"
        return f"mtcnn-weights/{digest.hexdigest()[:12]}"
    return f"{PACKAGE}/{package_version(PACKAGE)}"


class _Net:
    def __init__(self, name: str, state: dict[str, Array], input_shape: list[int | str]) -> None:
        self.state = state
        self.graph = Graph(name)
        self.x = self.graph.input("image", input_shape)

    def w(self, key: str) -> str:
        return self.graph.initializer(key, self.state[key].astype(np.float32))

    def conv_prelu(self, name: str, prelu: str | None) -> None:
        self.x = self.graph.node("Conv", [self.x, self.w(f"{name}.weight"), self.w(f"{name}.bias")])
        if prelu:
            slope = self.state[f"{prelu}.weight"].astype(np.float32).reshape(-1, 1, 1)
            self.x = self.graph.node(
                "PRelu", [self.x, self.graph.initializer(f"{prelu}.slope", slope)]
            )

    def pool(self, kernel: int, stride: int) -> None:
        self.x = self.graph.node(
            "MaxPool", [self.x], kernel_shape=[kernel, kernel], strides=[stride, stride],
            ceil_mode=1,
        )  # fmt: skip

    def flatten_permuted(self) -> None:
        self.x = self.graph.node("Transpose", [self.x], perm=[0, 3, 2, 1])
        self.x = self.graph.node("Flatten", [self.x], axis=1)

    def dense(self, name: str, prelu: str | None, x: str | None = None) -> str:
        out = self.graph.node(
            "Gemm", [x or self.x, self.w(f"{name}.weight"), self.w(f"{name}.bias")], transB=1
        )
        if prelu:
            slope = self.state[f"{prelu}.weight"].astype(np.float32)
            out = self.graph.node("PRelu", [out, self.graph.initializer(f"{prelu}.slope", slope)])
        return out


def pnet(state: dict[str, Array]) -> bytes:
    """(1, 3, H, W) → ``reg`` (1, 4, h, w) box offsets and ``prob`` (1, 2, h, w)."""
    net = _Net("pnet", state, [1, 3, "H", "W"])
    net.conv_prelu("conv1", "prelu1")
    net.pool(2, 2)
    net.conv_prelu("conv2", "prelu2")
    net.conv_prelu("conv3", "prelu3")
    trunk = net.x
    g = net.graph
    logits = g.node("Conv", [trunk, net.w("conv4_1.weight"), net.w("conv4_1.bias")])
    g.node("Softmax", [logits], "prob", axis=1)
    g.node("Conv", [trunk, net.w("conv4_2.weight"), net.w("conv4_2.bias")], "reg")
    g.output("reg", [1, 4, "h", "w"])
    g.output("prob", [1, 2, "h", "w"])
    return g.to_model(doc="MTCNN P-Net from facenet-pytorch weights")


def rnet(state: dict[str, Array]) -> bytes:
    """(N, 3, 24, 24) → ``reg`` (N, 4) and ``prob`` (N, 2)."""
    net = _Net("rnet", state, ["N", 3, 24, 24])
    net.conv_prelu("conv1", "prelu1")
    net.pool(3, 2)
    net.conv_prelu("conv2", "prelu2")
    net.pool(3, 2)
    net.conv_prelu("conv3", "prelu3")
    net.flatten_permuted()
    trunk = net.dense("dense4", "prelu4")
    g = net.graph
    g.node("Softmax", [net.dense("dense5_1", None, trunk)], "prob", axis=1)
    g.node("Identity", [net.dense("dense5_2", None, trunk)], "reg")
    g.output("reg", ["N", 4])
    g.output("prob", ["N", 2])
    return g.to_model(doc="MTCNN R-Net from facenet-pytorch weights")


def onet(state: dict[str, Array]) -> bytes:
    """(N, 3, 48, 48) → ``reg`` (N, 4), ``landmarks`` (N, 10: 5 x then 5 y), ``prob`` (N, 2)."""
    net = _Net("onet", state, ["N", 3, 48, 48])
    net.conv_prelu("conv1", "prelu1")
    net.pool(3, 2)
    net.conv_prelu("conv2", "prelu2")
    net.pool(3, 2)
    net.conv_prelu("conv3", "prelu3")
    net.pool(2, 2)
    net.conv_prelu("conv4", "prelu4")
    net.flatten_permuted()
    trunk = net.dense("dense5", "prelu5")
    g = net.graph
    g.node("Softmax", [net.dense("dense6_1", None, trunk)], "prob", axis=1)
    g.node("Identity", [net.dense("dense6_2", None, trunk)], "reg")
    g.node("Identity", [net.dense("dense6_3", None, trunk)], "landmarks")
    g.output("reg", ["N", 4])
    g.output("landmarks", ["N", 10])
    g.output("prob", ["N", 2])
    return g.to_model(doc="MTCNN O-Net from facenet-pytorch weights")


def build_all() -> dict[str, bytes]:
    """The three ONNX models, in memory (small: about 2 MB together; built in milliseconds)."""
    return {
        "pnet": pnet(load_state_dict(weights_path("pnet"))),
        "rnet": rnet(load_state_dict(weights_path("rnet"))),
        "onet": onet(load_state_dict(weights_path("onet"))),
    }
