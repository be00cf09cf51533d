"""Exact and near-duplicate detection: sha256, pHash (DCT) and dHash (gradient), 64 bits each.

The analyzer looks earlier images up through a ``HashIndex`` port (``eventlens.image_hashes``);
the wiring passes in an implementation (``eventlens.results.hash_index`` in SQLite,
``eventlens.results.dynamodb_hashes``), so this module never touches storage.
A candidate is a near-duplicate when its pHash is within ``max_distance`` bits and its dHash
within twice that (the second hash cuts pHash's false positives on smooth images).
"""

from __future__ import annotations

import hashlib
import threading
from functools import cache
from typing import Any

import numpy as np
from PIL import Image

from eventlens.analyzers.base import Analyzer, Findings
from eventlens.image_hashes import HashEntry, HashIndex, HashMatch, to_hex
from eventlens.imaging import ImageInput
from eventlens.settings import default_for

DEFAULT_MAX_DISTANCE: int = default_for("duplicate_max_distance")


@cache
def _dct_matrix(n: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    matrix: np.ndarray[Any, np.dtype[np.float64]] = np.cos(
        np.pi * (2 * i + 1) * k / (2 * n)
    ) * np.sqrt(2 / n)
    matrix[0] /= np.sqrt(2)
    return matrix


def _bits_to_int(bits: np.ndarray[Any, Any]) -> int:
    value = 0
    for bit in bits.ravel():
        value = (value << 1) | int(bit)
    return value


def phash(image: Image.Image) -> int:
    """pHash: 32x32 greyscale, 2-D DCT, the 8x8 lowest frequencies against their median."""
    grey = np.asarray(
        image.convert("L").resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64
    )
    dct = _dct_matrix(32)
    low = (dct @ grey @ dct.T)[:8, :8]
    return _bits_to_int(low > np.median(low))


def dhash(image: Image.Image) -> int:
    """dHash: 9x8 greyscale, each pixel brighter than its right-hand neighbour."""
    grey = np.asarray(image.convert("L").resize((9, 8), Image.Resampling.LANCZOS), dtype=np.float64)
    return _bits_to_int(grey[:, 1:] > grey[:, :-1])


class DuplicateAnalyzer(Analyzer):
    name = "duplicates"
    method = "sha256+phash+dhash"

    def __init__(self, index: HashIndex, *, max_distance: int = DEFAULT_MAX_DISTANCE) -> None:
        self.index = index
        self.max_distance = max_distance
        # look-up and insert as one step, so two copies analysed at once in different worker
        # lanes of this process still see each other
        self._lock = threading.Lock()

    @property
    def model_version(self) -> str:
        return f"phash-dhash/1/d{self.max_distance}"

    def forget(self, environment: str, key: str) -> None:
        with self._lock:
            self.index.remove(environment, key)

    def analyze(self, image: ImageInput) -> Findings:
        sha256 = hashlib.sha256(image.data).hexdigest()
        decoded = image.decode(min_short_side=64).image
        entry = HashEntry(image.key, sha256, phash(decoded), dhash(decoded))
        env = image.environment
        match: HashMatch | None = None
        with self._lock:
            exact_key = self.index.find_exact(env, sha256, image.key)
            if exact_key is not None:
                match = HashMatch(exact_key, 0, True)
            else:
                match = self.index.find_similar(
                    env, entry.phash, entry.dhash, self.max_distance, image.key
                )
            self.index.add(env, entry)
        return {
            "phash": to_hex(entry.phash),
            "dhash": to_hex(entry.dhash),
            "DuplicateOf": match.key if match else None,
            "Distance": match.distance if match else None,
            "Exact": bool(match and match.exact),
        }
