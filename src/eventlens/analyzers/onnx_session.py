"""One way to open ONNX Runtime sessions for the bundled models."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any


def create_session(path: Path, intra_op_threads: int | None = None) -> Any:
    """A CPU session with spinning threads and the memory arena off."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if intra_op_threads is not None:
        options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    # Idle ORT workers otherwise busy-wait after each run and steal the CPU that the next
    # image's JPEG decode needs (single-image latency measured 36 ms vs 40-100 ms).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_cpu_mem_arena = False
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


class LazySession:
    """A model's session, opened on first use (once, also under concurrent first calls)."""

    def __init__(self, model: Callable[[], Path], intra_op_threads: int | None = None) -> None:
        """``model`` returns the ONNX file, converting it first if needed."""
        self._model = model
        self._threads = intra_op_threads
        self._session: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if self._session is None:
                self._session = create_session(self._model(), self._threads)
            return self._session
