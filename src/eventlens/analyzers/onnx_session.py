"""The one place where eventlens opens ONNX Runtime sessions and sets their options.

Models that a third-party engine runs (rapidocr's, NudeNet's) are opened by that engine.

``optimized`` saves a model with ONNX Runtime's basic and extended graph optimisations done
(fusions, constant folding, int8 QDQ pairs made into QLinear operators): what every session
does on opening, and the same on every CPU. A session opening the saved graph (with the same
options, all optimisation levels on) does the layout optimisations, which depend on the CPU
(NCHWc blocks), as for any model, and gives bit-equal outputs, but it spends less time opening
it: the Lambda package ships its models so (``eventlens.aws.packaged_models``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from eventlens.convert import cache


def create_session(model: Path | bytes, intra_op_threads: int | None = None) -> Any:
    """A CPU session for a model file (or a model's bytes) with thread spinning and the
    memory arena off; ``intra_op_threads`` None leaves the runtime's default. A cached model
    file that does not load is converted again once (``convert.cache.rebuild``)."""
    try:
        return _open(model, intra_op_threads)
    except Exception:
        if not (isinstance(model, Path) and cache.rebuild(model)):
            raise
    return _open(model, intra_op_threads)


def optimized(model: Path) -> bytes:
    """``model`` with the basic and extended graph optimisations done, as this ONNX Runtime
    version saves it (a graph for this version's CPU provider: its fused operators)."""
    import onnxruntime as ort

    options = _options(None)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    with tempfile.TemporaryDirectory(prefix="eventlens-ort-") as tmp:
        saved = Path(tmp) / model.name
        options.optimized_model_filepath = str(saved)
        ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        return saved.read_bytes()


def _open(model: Path | bytes, intra_op_threads: int | None) -> Any:
    import onnxruntime as ort

    options = _options(intra_op_threads)
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])


def _options(intra_op_threads: int | None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    if intra_op_threads is not None:
        options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    # Idle ORT workers otherwise busy-wait after each run and steal the CPU that the next
    # image's JPEG decode needs (single-image latency measured 36 ms vs 40-100 ms).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_cpu_mem_arena = False
    return options
