"""Exact and near-duplicate detection: sha256, pHash (DCT) and dHash (gradient), 64 bits each.

The analyzer looks earlier images up through a ``HashIndex`` port; the wiring passes in an
implementation (SQLite: ``eventlens.results.hash_index``), so this module never touches storage.
A candidate is a near-duplicate when its pHash is within ``max_distance`` bits and its dHash
within twice that (the second hash cuts pHash's false positives on smooth images).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import numpy as np
from PIL import Image

from eventlens.analyzers.base import Analyzer, Findings
from eventlens.imaging import ImageInput

DEFAULT_MAX_DISTANCE = 6


@dataclass(frozen=True, slots=True)
class HashEntry:
    key: str
    sha256: str
    phash: int
    dhash: int


@dataclass(frozen=True, slots=True)
class HashMatch:
    key: str
    distance: int  # pHash Hamming distance (0 for exact copies)
    exact: bool


class HashIndex(Protocol):
    """Earlier images' hashes, per environment."""

    def find_exact(self, environment: str, sha256: str, exclude_key: str) -> str | None:
        """The earliest other key with these exact bytes."""
        ...

    def find_similar(
        self, environment: str, phash: int, dhash: int, max_distance: int, exclude_key: str
    ) -> HashMatch | None:
        """The nearest other image (earliest on ties) within ``max_distance`` pHash bits and
        ``2 * max_distance`` dHash bits."""
        ...

    def add(self, environment: str, entry: HashEntry) -> None: ...


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def to_hex(value: int) -> str:
    return f"{value:016x}"


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
