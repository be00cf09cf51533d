"""The hostile bucket: every kind of bad, odd or huge input at once (tests and
``bench/bench_memory.py``)."""

from __future__ import annotations

import io
import os
import shutil
import socket
import struct
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from tests.images import encode, photo_like, png_bomb, write
from tests.processes import BETA, Server

BIG_SIDE = 10_900  # 119 MP: under the 120 MP limit
BIG_COPIES = 8


def hostile_corpus(folder: Path) -> dict[str, str | None]:
    """name → expected error fragment (None: an ok record)."""
    folder.mkdir(parents=True)
    photo = photo_like(640, 480, seed=1)
    cases: dict[str, tuple[bytes, str | None]] = {
        "zero.jpg": (b"", "empty file"),
        "truncated.jpg": (encode(photo, "JPEG")[:2000], "corrupt or truncated"),
        "truncated.png": (encode(photo, "PNG")[:5000], "corrupt or truncated"),
        "text.jpg": (b"Lorem ipsum dolor sit amet\n" * 100, "not an image"),
        "bomb.png": (png_bomb(), "decompression bomb"),
        "one-pixel.png": (encode(Image.new("RGB", (1, 1), (255, 0, 0)), "PNG"), None),
        "cmyk.jpg": (encode(photo.convert("CMYK"), "JPEG"), None),
        "sixteen-bit.png": (
            encode(
                Image.fromarray(np.arange(200 * 150, dtype=np.uint16).reshape(150, 200) * 2), "PNG"
            ),
            None,
        ),
        "animated.gif": (_animated_gif(), None),
        "palette-alpha.png": (encode(photo.convert("RGBA").convert("P"), "PNG"), None),
        "photo.webp": (encode(photo, "WEBP"), None),
        "spaces and + and ünïcødé ☕.jpg": (encode(photo, "JPEG"), None),
        ("x" * 200) + ".jpg": (encode(photo, "JPEG"), None),
        "huge-canvas.png": (_huge_canvas_png(), "image too large"),
    }
    for name, (data, _) in cases.items():
        write(folder / name, data)
    exif = photo.copy()
    exif_data = Image.Exif()
    exif_data[0x0112] = 6  # rotated 90° clockwise: width and height swap when applied
    exif.save(folder / "exif-rotated.jpg", "JPEG", exif=exif_data)
    with (folder / "hundred-mb.jpg").open("wb") as handle:
        handle.write(encode(photo, "JPEG"))
        handle.truncate(100 * 1024 * 1024)
    os.symlink("/etc/passwd", folder / "escape.jpg")
    expected = {name: fragment for name, (_, fragment) in cases.items()}
    expected["exif-rotated.jpg"] = None
    expected["hundred-mb.jpg"] = "file too large"
    return expected


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (64, 64), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    import io

    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def _huge_canvas_png() -> bytes:
    """11,000 x 11,000 = 121 MP: over eventlens' 120 MP limit, under Pillow's own bomb limit."""
    return png_bomb(11_000)


def big_png(path: Path) -> Path:
    """A 10,900 x 10,900 RGB PNG of ~370 KB (blocks of flat colour), written by libvips
    without ever holding the picture."""
    import pyvips

    xy = pyvips.Image.xyz(BIG_SIDE, BIG_SIDE)
    grey = ((xy[0] // 700 + xy[1] // 900) % 5 * 50).cast("uchar")
    grey.bandjoin([grey, 255 - grey]).copy(interpretation="srgb").pngsave(str(path), compression=9)
    return path


def exif_flood_jpeg(segments: int = 600) -> bytes:
    """A 640x480 JPEG behind ``segments`` 64 KB Exif APP1 segments (~38 MB)."""
    picture = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 120, 200)).save(picture, "JPEG")
    data = picture.getvalue()
    tiff = b"MM\x00*\x00\x00\x00\x08\x00\x01" + struct.pack(">HHII", 0x0112, 3, 1, 1 << 16)
    payload = b"Exif\x00\x00" + tiff + b"\x00" * 64000
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return data[:2] + segment * segments + data[2:]


def whole_hostile_set(folder: Path, cache: Path) -> dict[str, str | None]:
    """The corpus above, 8 copies of the big PNG, the Exif flood, a FIFO and a socket."""
    expected = hostile_corpus(folder)
    cache.mkdir(parents=True, exist_ok=True)
    source = cache / f"big-{BIG_SIDE}.png"
    if not source.exists():
        big_png(cache / "big.tmp.png").rename(source)
    for i in range(BIG_COPIES):
        shutil.copyfile(source, folder / f"big-{i}.png")
        expected[f"big-{i}.png"] = None
    write(folder / "exif-flood.jpg", exif_flood_jpeg())
    expected["exif-flood.jpg"] = None
    os.mkfifo(folder / "fifo.jpg")
    unix_socket(folder / "socket.jpg")
    return expected


def unix_socket(path: Path) -> None:
    """A socket file at ``path``, however long: a socket's address is limited to ~107 bytes,
    so it is bound in a short temporary folder and renamed into place."""
    with tempfile.TemporaryDirectory(prefix="el-sock-") as short:
        bound = Path(short) / "s"
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(bound))
        try:
            os.rename(bound, path)
        except OSError:  # another file system: bind in place (works for short paths)
            with socket.socket(socket.AF_UNIX) as server:
                server.bind(str(path))


def thumbnails_at_once(root: Path) -> tuple[float, float, float]:
    """``eventlens serve`` asked for every thumbnail at once (8 of them the big PNG):
    (peak RSS MB, RSS MB afterwards, seconds)."""
    keys = [f"{BETA}big-{i}.png" for i in range(BIG_COPIES)]
    keys += [BETA + p.name for p in sorted((root / BETA).iterdir()) if "big-" not in p.name]
    with Server(root) as server:
        started = time.perf_counter()
        with ThreadPoolExecutor(len(keys)) as pool:
            statuses = list(pool.map(
                lambda k: server.get(f"/thumb?key={urllib.parse.quote(k)}", 300)[0], keys
            ))  # fmt: skip
        seconds = time.perf_counter() - started
        assert statuses[:BIG_COPIES] == [200] * BIG_COPIES, statuses
        status = Path(f"/proc/{server.proc.pid}/status").read_text()
    return _kb(status, "VmHWM") / 1024, _kb(status, "VmRSS") / 1024, seconds


def _kb(proc_status: str, field: str) -> int:
    line = next(line for line in proc_status.splitlines() if line.startswith(field + ":"))
    return int(line.split()[1])
