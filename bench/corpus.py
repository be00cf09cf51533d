"""Generated benchmark corpus: 12-MP photo-like JPEGs plus small PNGs, cached on disk."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

WIDTH, HEIGHT = 4000, 3000  # 12 MP


def _texture(seed: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """Smooth colour fields with edges and grain: decodes about as costly as a real photo."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(24, 32, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC))
    grain = rng.integers(-18, 18, size=(height, width // 4, 3), dtype=np.int16)
    grain = np.repeat(grain, 4, axis=1)
    return np.clip(base.astype(np.int16) + grain, 0, 255).astype(np.uint8)


def _write_jpeg(args: tuple[Path, int], size: tuple[int, int] = (WIDTH, HEIGHT)) -> Path:
    path, seed = args
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        Image.fromarray(_texture(seed, *size)).save(tmp, "JPEG", quality=88)
        os.replace(tmp, path)
    return path


def _write_sized_jpeg(args: tuple[Path, int, int, int]) -> Path:
    path, seed, width, height = args
    return _write_jpeg((path, seed), (width, height))


def _write_png(args: tuple[Path, int]) -> Path:
    path, seed = args
    if not path.exists():
        rng = np.random.default_rng(seed)
        side = int(rng.integers(64, 512))
        pixels = rng.integers(0, 256, size=(side // 8, side // 8, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize((side, side)).save(path, "PNG")
    return path


def build(folder: Path, jpegs: int, pngs: int, workers: int = 2) -> list[Path]:
    """Files in ``folder`` (reused between runs when already present)."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs_j = [(folder / f"photo-{i:04d}.jpg", i) for i in range(jpegs)]
    jobs_p = [(folder / f"small-{i:04d}.png", 10_000 + i) for i in range(pngs)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        paths = list(pool.map(_write_jpeg, jobs_j, chunksize=4))
        paths += list(pool.map(_write_png, jobs_p, chunksize=8))
    return paths


def build_sized(folder: Path, count: int, width: int, height: int, workers: int = 2) -> list[Path]:
    """``count`` photo-like JPEGs of ``width`` x ``height`` in ``folder`` (reused when present)."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(folder / f"photo-{i:04d}.jpg", i, width, height) for i in range(count)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_write_sized_jpeg, jobs, chunksize=2))
