"""Analyzers that run a model: loaded once per process, on first use or at worker start.

``Lazy`` is the one way a model (or one of its sessions) is made on first use: once, also
under concurrent first calls, and again on the next call if making it failed (a package
installed meanwhile is picked up). ``ModelAnalyzer`` owns one for its model: a subclass says
how to open the model (``_open``) and opens its ONNX Runtime sessions with ``session``, the one
place where eventlens' runtime options are set (``onnx_session.create_session``).
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from eventlens.analyzers.base import Analyzer, AnalyzerUnavailable
from eventlens.analyzers.onnx_session import create_session

T = TypeVar("T")
M = TypeVar("M")


def package_version(distribution: str) -> str:
    """The installed version of the distribution a model ships in, or "missing" (for a
    ``model_version``: installing the package changes it)."""
    from importlib import metadata  # ~20 ms of imports, which a label model's cold start skips

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "missing"


class Lazy(Generic[T]):
    """A value made by ``make`` on the first ``get()``, once per instance."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._made: tuple[T] | None = None  # a box, so that a made None counts as made
        self._lock = threading.Lock()

    @property
    def is_made(self) -> bool:
        return self._made is not None

    def get(self) -> T:
        made = self._made
        if made is None:  # only the first calls take the lock
            with self._lock:
                if self._made is None:
                    self._made = (self._make(),)
                made = self._made
        return made[0]


class ModelAnalyzer(Analyzer, Generic[M]):
    """An analyzer whose model (ONNX Runtime sessions, a third-party engine) is opened once by
    ``_open`` and shared by every thread that analyses with it; ``loaded()`` returns it."""

    #: How to install what ``_open`` imports: an ``ImportError`` there becomes an
    #: ``AnalyzerUnavailable`` saying so (empty: the ``ImportError`` propagates as it is).
    install_hint: ClassVar[str] = ""

    def __init__(self, intra_op_threads: int | None = None) -> None:
        """``intra_op_threads``: ONNX Runtime threads per session (None: the runtime's)."""
        self.intra_op_threads = intra_op_threads
        self._model: Lazy[M] = Lazy(self._open_model)

    @property
    def is_loaded(self) -> bool:
        return self._model.is_made

    def load(self) -> None:
        self.loaded()

    def loaded(self) -> M:
        """The model, opened on the first call."""
        return self._model.get()

    @abstractmethod
    def _open(self) -> M:
        """Open the model: convert or locate its files, open its sessions (``session``)."""

    def session(self, model: Path | bytes) -> Any:
        """An ONNX Runtime session for a model file (or its bytes) with eventlens' options."""
        return create_session(model, self.intra_op_threads)

    def _open_model(self) -> M:
        try:
            return self._open()
        except ImportError as exc:
            if not self.install_hint:
                raise
            raise AnalyzerUnavailable(self.install_hint) from exc
