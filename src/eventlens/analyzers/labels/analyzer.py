"""``LabelAnalyzer``: Rekognition DetectLabels-shaped labels from bundled EfficientNet-Lite0."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from eventlens.analyzers.base import Analyzer, Findings, check_label_limits
from eventlens.analyzers.labels.efficientnet_lite import INPUT_NAME, OUTPUT_NAME
from eventlens.analyzers.labels.model_cache import build_model
from eventlens.analyzers.labels.preprocess import RESIZE, to_input
from eventlens.analyzers.labels.taxonomy import Taxonomy, load_taxonomy
from eventlens.imaging import ImageInput
from eventlens.workers import map_in_pool

MODEL_VERSION = "efficientnet-lite0-imagenet/1"
#: Images per ONNX Runtime call; bigger batches gain little on CPU and cost ~8 MB RAM each.
MAX_BATCH = 8


class LabelAnalyzer(Analyzer):
    """Labels an image with ImageNet classes plus their WordNet parents ("Cat", "Animal" ...).

    A parent label's confidence is the summed probability of all classes under it, so "Dog"
    collects every breed. Runs offline on CPU with ONNX Runtime.
    """

    name = "labels"
    method = "bundled-efficientnet-lite0"

    def __init__(
        self,
        max_labels: int = 10,
        min_confidence: float = 55.0,
        intra_op_threads: int | None = None,
        *,
        model_path: Path | None = None,
    ) -> None:
        """``model_path`` overrides the cached model built by ``build_model()``."""
        check_label_limits(max_labels, min_confidence)
        self.max_labels = max_labels
        self.min_confidence = min_confidence
        self.intra_op_threads = intra_op_threads
        self.model_path = model_path
        self._session: ort.InferenceSession | None = None
        self._taxonomy: Taxonomy | None = None
        self._lock = threading.Lock()

    @property
    def model_version(self) -> str:
        # the settings change the stored labels, so a change must trigger re-analysis
        return (
            f"{MODEL_VERSION}(max_labels={self.max_labels},min_confidence={self.min_confidence:g})"
        )

    def load(self) -> None:
        self._get_session()

    def _get_session(self) -> tuple[Any, Taxonomy]:
        with self._lock:
            if self._session is None or self._taxonomy is None:
                self._taxonomy = load_taxonomy()
                self._session = self._create_session(self.model_path or build_model())
            return self._session, self._taxonomy

    def _create_session(self, path: Path) -> Any:
        options = ort.SessionOptions()
        if self.intra_op_threads is not None:
            options.intra_op_num_threads = self.intra_op_threads
        options.inter_op_num_threads = 1
        # Idle ORT workers otherwise busy-wait after each run and steal the CPU that the next
        # image's JPEG decode needs (single-image latency measured 36 ms vs 40-100 ms).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.enable_cpu_mem_arena = False
        return ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def analyze(self, image: ImageInput) -> Findings:
        result = self.analyze_batch([image])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def analyze_batch(self, images: Sequence[ImageInput]) -> list[Findings | Exception]:
        """Decode each image (failures are returned in place), then classify them together in
        one ONNX Runtime call per ``MAX_BATCH`` images."""
        results: list[Findings | Exception | None] = [None] * len(images)
        inputs, positions = [], []
        for i, prepared in enumerate(map_in_pool(_prepare, images)):
            if isinstance(prepared, Exception):
                results[i] = prepared
            else:
                inputs.append(prepared)
                positions.append(i)
        if inputs:
            session, taxonomy = self._get_session()
            for start in range(0, len(inputs), MAX_BATCH):
                batch = np.stack(inputs[start : start + MAX_BATCH])
                (probs,) = session.run([OUTPUT_NAME], {INPUT_NAME: batch})
                scores = np.minimum(probs @ taxonomy.membership * 100.0, 100.0)
                for i, row in zip(positions[start : start + MAX_BATCH], scores, strict=True):
                    results[i] = self._findings(row, taxonomy)
        return [r for r in results if r is not None]

    def _findings(self, scores: np.ndarray[Any, Any], taxonomy: Taxonomy) -> Findings:
        order = np.lexsort((np.arange(scores.size), -scores))
        labels = []
        for idx in order[: self.max_labels]:
            confidence = float(scores[idx])
            if confidence < self.min_confidence:
                break
            labels.append(
                {
                    "Name": taxonomy.names[idx],
                    "Confidence": round(confidence, 4),
                    "Instances": [],
                    "Parents": [{"Name": p} for p in taxonomy.parents[idx]],
                    "Aliases": [],
                    "Categories": [],
                }
            )
        return {"Labels": labels, "LabelModelVersion": MODEL_VERSION}


def _prepare(image: ImageInput) -> np.ndarray[Any, Any] | Exception:
    """Decode and preprocess one image; runs on the shared pool (Pillow releases the GIL)."""
    try:
        return to_input(image.decode(min_short_side=RESIZE).image)
    except Exception as exc:  # reported per image, like the base class
        return exc
