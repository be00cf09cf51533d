"""The one place where eventlens opens ONNX Runtime sessions and sets their options.

Models that a third-party engine runs (rapidocr's, NudeNet's) are opened by that engine.
"""

from __future__ import annotations

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


def _open(model: Path | bytes, intra_op_threads: int | None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    if intra_op_threads is not None:
        options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    # Idle ORT workers otherwise busy-wait after each run and steal the CPU that the next
    # image's JPEG decode needs (single-image latency measured 36 ms vs 40-100 ms).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_cpu_mem_arena = False
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])
