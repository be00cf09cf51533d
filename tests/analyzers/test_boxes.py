"""The one non-maximum suppression of every detector (SSD, BlazeFace, MTCNN)."""

from __future__ import annotations

import numpy as np

from eventlens.analyzers.boxes import non_maximum_suppression as nms


def test_keeps_the_best_of_overlapping_ratio_boxes() -> None:  # SSD / BlazeFace
    boxes = np.array([[0, 0, 0.5, 0.5], [0.01, 0.01, 0.5, 0.5], [0.6, 0.6, 0.9, 0.9]])
    assert nms(boxes, np.array([0.8, 0.9, 0.7]), 0.5, limit=10).tolist() == [1, 2]
    assert nms(boxes, np.array([0.8, 0.9, 0.7]), 0.5, limit=1).tolist() == [1]


def test_keeps_the_best_of_overlapping_pixel_boxes() -> None:  # MTCNN
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=np.float32)
    scores = np.array([0.8, 0.9, 0.7], dtype=np.float32)
    assert nms(boxes, scores, 0.5, pixel_edges=True).tolist() == [1, 2]
    assert nms(boxes, scores, 0.99, pixel_edges=True).tolist() == [1, 0, 2]
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).size == 0


def test_pixel_edges_count_both_edge_pixels() -> None:
    # Two 1-pixel-wide columns side by side: as ratios they touch (IoU 0); as pixel boxes
    # x 0..1 and 1..2 share column 1, IoU 1/3.
    boxes = np.array([[0, 0, 1, 9], [1, 0, 2, 9]], dtype=np.float32)
    scores = np.array([0.9, 0.8], dtype=np.float32)
    assert nms(boxes, scores, 0.3).tolist() == [0, 1]
    assert nms(boxes, scores, 0.3, pixel_edges=True).tolist() == [0]
    assert nms(boxes, scores, 0.34, pixel_edges=True).tolist() == [0, 1]


def test_min_overlap_drops_a_box_inside_a_better_one() -> None:
    outer, inner = [0, 0, 100, 100], [10, 10, 40, 40]  # IoU 0.09, but inner lies wholly inside
    boxes = np.array([outer, inner], dtype=np.float32)
    scores = np.array([0.9, 0.8], dtype=np.float32)
    assert nms(boxes, scores, 0.7).tolist() == [0, 1]
    assert nms(boxes, scores, 0.7, overlap="min").tolist() == [0]


def test_equal_scores_keep_the_lower_index_and_zero_area_boxes_do_not_divide_by_zero() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [5, 5, 5, 5], [5, 5, 5, 5]])
    with np.errstate(all="raise"):
        kept = nms(boxes, np.array([0.5, 0.5, 0.9, 0.9]), 0.5)
    assert kept.tolist() == [2, 3, 0]
