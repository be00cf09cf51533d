"""The ``ModelAnalyzer`` base: one lazy load per analyzer, install hints, one session helper."""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from eventlens.analyzers.base import AnalyzerUnavailable, Findings
from eventlens.analyzers.model import Lazy, ModelAnalyzer
from eventlens.errors import Transient
from eventlens.imaging import ImageInput


def test_concurrent_first_calls_make_the_value_once() -> None:
    made: list[object] = []
    start = threading.Barrier(8)

    def make() -> object:
        time.sleep(0.05)  # the other threads arrive while the first one is still making it
        made.append(object())
        return made[-1]

    lazy = Lazy(make)
    got: list[object] = []

    def first_call() -> None:
        start.wait()
        got.append(lazy.get())

    threads = [threading.Thread(target=first_call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1 and got == made * 8 and lazy.is_made


def test_a_failed_make_is_tried_again_and_a_made_none_is_kept() -> None:
    attempts: list[int] = []

    def make() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("model file not there yet")

    lazy = Lazy(make)
    with pytest.raises(OSError):
        lazy.get()
    assert not lazy.is_made
    assert lazy.get() is None and lazy.get() is None
    assert len(attempts) == 2


class _NeedsAPackage(ModelAnalyzer[Any]):
    name = "needs-a-package"

    @property
    def model_version(self) -> str:
        return "test/1"

    def _open(self) -> Any:
        import eventlens_test_package_that_is_not_installed  # type: ignore[import-not-found]

        return eventlens_test_package_that_is_not_installed

    def analyze(self, image: ImageInput) -> Findings:
        return {"Engine": self.loaded()}


class _Hinted(_NeedsAPackage):
    install_hint = "pip install eventlens-test-package"


def test_a_missing_package_says_how_to_install_it_and_is_retried() -> None:
    analyzer = _Hinted()
    with pytest.raises(AnalyzerUnavailable, match="pip install eventlens-test-package") as caught:
        analyzer.load()
    assert isinstance(caught.value, Transient)  # the pipeline retries the image later
    assert isinstance(caught.value.__cause__, ImportError) and not analyzer.is_loaded
    with pytest.raises(AnalyzerUnavailable):
        analyzer.analyze(ImageInput(b"", "x.jpg"))


def test_without_an_install_hint_the_import_error_is_left_alone() -> None:
    with pytest.raises(ImportError) as caught:
        _NeedsAPackage().load()
    assert not isinstance(caught.value, AnalyzerUnavailable)


@pytest.mark.skipif(importlib.util.find_spec("nudenet") is not None, reason="nudenet is installed")
def test_moderation_without_nudenet_names_the_extra() -> None:
    from eventlens.analyzers.moderation import ModerationAnalyzer

    with pytest.raises(AnalyzerUnavailable, match=r"eventlens\[moderation\]"):
        ModerationAnalyzer().load()


def test_sessions_are_opened_with_eventlens_options_from_bytes_or_a_file(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    import numpy as np

    from eventlens.convert.onnx_writer import Graph

    graph = Graph("identity")
    graph.input("x", ["n", 2])
    graph.node("Identity", ["x"], "y")
    graph.output("y", ["n", 2])
    model = graph.to_model()
    path = tmp_path / "identity.onnx"
    path.write_bytes(model)
    analyzer = _Hinted(intra_op_threads=1)
    for source in (model, path):
        session = analyzer.session(source)
        options = session.get_session_options()
        assert (options.intra_op_num_threads, options.inter_op_num_threads) == (1, 1)
        assert not options.enable_cpu_mem_arena
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        x = np.ones((3, 2), np.float32)
        np.testing.assert_array_equal(session.run(["y"], {"x": x})[0], x)
