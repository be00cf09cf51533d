"""Benchmark each analyzer: ms/image and peak RSS, one fresh process per analyzer.

    .venv/bin/python bench/bench_analyzers.py [--repeat 3] [--only faces,text] [--json]

Images: scikit-image's astronaut (a portrait, 512x512) and coffee (600x400) re-encoded as
JPEG, the same photos upscaled to 12 MP (4000x3000) with sensor-like noise (a camera-sized
file), and a 1600x1000 rendered document for OCR. ``video`` is a 20 s 640x480 H.264/MPEG-4
clip sampled at 1 frame/s: its figure is ms per video (and per sampled frame).
Each line: cold load time, median ms/image (after one warm-up), peak RSS of that process.
Analyzers whose package is missing are reported as skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ANALYZERS = ("labels", "faces", "text", "moderation", "duplicates", "video")


def _jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _camera_sized(image: Image.Image) -> Image.Image:
    rgb = np.asarray(image.resize((4000, 3000), Image.Resampling.BICUBIC), dtype=np.float32)
    rgb += np.random.default_rng(0).normal(0, 6, rgb.shape).astype(np.float32)
    return Image.fromarray(rgb.clip(0, 255).astype(np.uint8))


def _document() -> Image.Image:
    page = Image.new("RGB", (1600, 1000), "white")
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=36)
    lines = [
        "INVOICE 2026-0042",
        "Eventlens Ltd, 1 Example Road",
        "Analysis credits   12   480.00",
        "Storage   1   25.00",
        "Total due   505.00",
    ]
    for i, line in enumerate(lines):
        draw.text((80, 80 + i * 120), line, fill="black", font=font)
    return page


def images() -> dict[str, bytes]:
    from skimage import data

    astronaut = Image.fromarray(data.astronaut())
    coffee = Image.fromarray(data.coffee())
    return {
        "astronaut-512": _jpeg(astronaut),
        "coffee-600x400": _jpeg(coffee),
        "astronaut-12MP": _jpeg(_camera_sized(astronaut)),
        "document-1600x1000": _jpeg(_document(), 92),
    }


def video() -> bytes:
    import av
    from skimage import data

    frames = [
        np.asarray(Image.fromarray(getattr(data, n)()).resize((640, 480)))
        for n in ("astronaut", "coffee", "chelsea", "rocket")
    ]
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        stream.bit_rate = 2_000_000
        for i in range(20 * 25):
            frame = av.VideoFrame.from_ndarray(frames[(i // 125) % 4], format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return buffer.getvalue()


def _peak_rss_mb() -> float:
    """This process's peak RSS. ``getrusage``'s ru_maxrss survives exec on Linux (it would
    include the parent's peak), so VmHWM from /proc is read where there is one."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


OUT = Path(__file__).resolve().parent / "out" / "analyzers"


def prepare() -> None:
    """Write the inputs once (in the parent, so their generation does not count in RSS)."""
    OUT.mkdir(parents=True, exist_ok=True)
    for label, data in images().items():
        path = OUT / f"{label}.jpg"
        if not path.exists():
            path.write_bytes(data)
    clip = OUT / "video-20s-640x480.mp4"
    if not clip.exists():
        with contextlib.suppress(ImportError):
            clip.write_bytes(video())


def run_one(name: str, repeat: int) -> dict[str, Any]:
    """In this process: load one analyzer, time it on every benchmark input."""
    from eventlens.analyzers import registry
    from eventlens.imaging import ImageInput

    settings = registry.AnalyzerContext()
    if name == "duplicates":
        from dataclasses import replace

        from eventlens.results.hash_index import SQLiteHashIndex

        settings = replace(settings, hash_index=SQLiteHashIndex(":memory:"))
    pattern = "*.mp4" if name == "video" else "*.jpg"
    inputs = {path.stem: path.read_bytes() for path in sorted(OUT.glob(pattern))}
    media = "video" if name == "video" else "image"
    baseline = _peak_rss_mb()
    started = time.perf_counter()
    try:
        analyzer = registry.create(name, settings)
        analyzer.load()
    except (ImportError, RuntimeError) as exc:
        return {"analyzer": name, "skipped": str(exc)}
    load_ms = (time.perf_counter() - started) * 1000
    per_input: dict[str, float] = {}
    extra: dict[str, Any] = {}
    for label, data in inputs.items():
        times = []
        for i in range(repeat + 1):
            image = ImageInput(data, f"bench/{label}-{i}.jpg", environment="bench", media=media)
            t0 = time.perf_counter()
            findings = analyzer.analyze(image)
            if i:  # the first run is a warm-up
                times.append((time.perf_counter() - t0) * 1000)
        per_input[label] = round(statistics.median(times), 1)
        if name == "video":
            extra["sampled_frames"] = findings["SampledFrames"]
    return {
        "analyzer": name,
        "load_ms": round(load_ms, 1),
        "ms_per_image": per_input,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "rss_before_load_mb": round(baseline, 1),
        **extra,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default=",".join(ANALYZERS))
    parser.add_argument("--json", action="store_true", help="print JSON lines only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.repeat)))
        return
    prepare()
    for name in [n.strip() for n in args.only.split(",") if n.strip()]:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", name, "--repeat", str(args.repeat)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            print(f"{name:<11} FAILED: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        if args.json:
            print(json.dumps(result))
        elif "skipped" in result:
            print(f"{name:<11} skipped: {result['skipped']}")
        else:
            timings = "  ".join(f"{k} {v:.1f} ms" for k, v in result["ms_per_image"].items())
            frames = result.get("sampled_frames")
            if frames:
                timings += f" ({frames} frames)"
            print(
                f"{name:<11} load {result['load_ms']:>7.1f} ms  peak RSS "
                f"{result['peak_rss_mb']:>6.1f} MB  |  {timings}"
            )


if __name__ == "__main__":
    main()
