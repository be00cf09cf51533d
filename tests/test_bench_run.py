"""``bench/run.py``'s label post-processing stage drives the analyzer's own steps (classify,
confidences, findings): a change to them must not leave the benchmark broken."""

from __future__ import annotations

from collections.abc import Callable

from bench.run import _label_post_processing


def test_label_post_processing_stage_labels_every_image() -> None:
    results: list[object] = []

    def timed(what: str, work: Callable[[], object]) -> tuple[str, str, str, str]:
        results.append(work())
        return (what, "", "", "")

    rows = _label_post_processing(3, timed)
    assert [row[0] for row in rows] == [
        "logits -> labels (scene labels ^0.4)",
        "logits -> labels (scene labels as summed)",
    ]
    for findings in results:
        assert isinstance(findings, list) and len(findings) == 3
        assert all(f["LabelModelVersion"].startswith("efficientnet-lite0") for f in findings)
