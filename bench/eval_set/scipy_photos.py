"""Turn the two photos SciPy ships as raw data (``scipy/misc/face.dat``, ``ascent.dat``) into PNGs.

SciPy 1.10 (Debian's ``python3-scipy``) still ships them in ``scipy/misc``: ``face.dat`` is the
bz2-compressed 768 x 1024 RGB pixels of a raccoon, ``ascent.dat`` a pickled 512 x 512 list of
grey levels (people on an outdoor staircase). The pickle holds nothing but lists and small ints,
so it is read with an unpickler that refuses every global: the file cannot make it run code.
"""

from __future__ import annotations

import bz2
import io
import pickle
from collections.abc import Callable
from typing import NoReturn

import numpy as np
from PIL import Image

FACE_SHAPE = (768, 1024, 3)
ASCENT_SIDE = 512


class _ListsOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> NoReturn:
        raise pickle.UnpicklingError(f"refusing {module}.{name}: only lists of ints expected")


def _face(data: bytes) -> Image.Image:
    pixels = np.frombuffer(bz2.decompress(data), dtype=np.uint8)
    return Image.fromarray(pixels.reshape(FACE_SHAPE), "RGB")


def _ascent(data: bytes) -> Image.Image:
    grey = np.asarray(_ListsOnly(io.BytesIO(data)).load())
    if grey.shape != (ASCENT_SIDE, ASCENT_SIDE) or grey.min() < 0 or grey.max() > 255:
        raise ValueError(f"ascent.dat: expected {ASCENT_SIDE}x{ASCENT_SIDE} grey levels")
    return Image.fromarray(grey.astype(np.uint8), "L")


DECODERS: dict[str, Callable[[bytes], Image.Image]] = {
    "scipy-face": _face,
    "scipy-ascent": _ascent,
}


def to_png(kind: str, data: bytes) -> bytes:
    """The PNG bytes of a SciPy data file; ``kind`` is a key of DECODERS."""
    out = io.BytesIO()
    DECODERS[kind](data).save(out, format="PNG")
    return out.getvalue()
