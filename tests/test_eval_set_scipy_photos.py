"""The eval set's decoder of SciPy's raw photo files, on files laid out as SciPy ships them."""

from __future__ import annotations

import bz2
import io
import os
import pickle

import numpy as np
import pytest
from bench.eval_set.scipy_photos import ASCENT_SIDE, FACE_SHAPE, to_png
from PIL import Image


def test_face_becomes_an_rgb_png_with_the_same_pixels() -> None:
    pixels = np.random.default_rng(0).integers(0, 256, FACE_SHAPE, dtype=np.uint8)
    png = to_png("scipy-face", bz2.compress(pixels.tobytes()))
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))), pixels)


def test_ascent_becomes_a_grey_png_from_plain_lists() -> None:
    grey = np.arange(ASCENT_SIDE * ASCENT_SIDE).reshape(ASCENT_SIDE, ASCENT_SIDE) % 256
    with Image.open(io.BytesIO(to_png("scipy-ascent", pickle.dumps(grey.tolist(), 2)))) as image:
        assert image.mode == "L"
        assert np.array_equal(np.asarray(image), grey)


def test_ascent_refuses_a_pickle_that_would_call_anything() -> None:
    hostile = pickle.dumps(os.getcwd)  # unpickling it would look up a global
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        to_png("scipy-ascent", hostile)


def test_ascent_refuses_lists_that_are_not_its_grey_levels() -> None:
    with pytest.raises(ValueError, match="grey levels"):
        to_png("scipy-ascent", pickle.dumps([[1, 2], [3, 999]], 2))
