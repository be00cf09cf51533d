"""Peak memory under the whole hostile set at once: ``eventlens run --once`` and ``eventlens
serve`` with 8 parallel thumbnails of a 10,900 x 10,900 PNG, plus that PNG decoded by Pillow
against libvips (shrink-on-load). One command, prints a table:

    .venv/bin/python bench/bench_memory.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.processes import BETA, EVENTLENS

from bench.hostile import BIG_COPIES, thumbnails_at_once, whole_hostile_set
from bench.peak_rss import run_measuring_peak_rss

CACHE = Path(__file__).resolve().parent.parent / ".cache" / "hostile"

_DECODE = """
import sys, time
from eventlens import imaging, vips_decode
vips_decode.available = sys.argv[1] == "vips"
data = open(sys.argv[2], "rb").read()
started = time.perf_counter()
imaging.decode(data, min_short_side=256)
sys.stderr.write(f"{time.perf_counter() - started:.2f} s")
"""


def decoders(png: Path) -> list[tuple[str, str, str]]:
    rows = []
    for name in ("pillow", "vips"):
        done = run_measuring_peak_rss([sys.executable, "-c", _DECODE, name, str(png)])
        rows.append((f"decode 1 big PNG to 256 px: {name}", f"{done.peak_mb:.0f} MB",
                     done.stderr.strip()))  # fmt: skip
    return rows


def main() -> None:
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bucket"
        whole_hostile_set(root / BETA, CACHE)
        rows += decoders(CACHE / "big-10900.png")
        (Path(tmp) / "plain" / BETA).mkdir(parents=True)
        (Path(tmp) / "plain" / BETA / "photo.jpg").write_bytes(
            (root / BETA / "cmyk.jpg").read_bytes()
        )
        plain = run_measuring_peak_rss(
            [EVENTLENS, "run", "--once", "--root", str(Path(tmp) / "plain")]
        )
        rows.append(
            ("eventlens run --once, 1 ordinary photo (the baseline)", f"{plain.peak_mb:.0f} MB", "")
        )
        started = time.perf_counter()
        run = run_measuring_peak_rss([EVENTLENS, "run", "--once", "--root", str(root)])
        seconds = time.perf_counter() - started
        assert run.returncode == 0, run.stderr[-2000:]
        files = len(list((root / BETA).iterdir()))
        rows.append((f"eventlens run --once, {files} hostile files", f"{run.peak_mb:.0f} MB",
                     f"{seconds:.1f} s"))  # fmt: skip
        peak, held, seconds = thumbnails_at_once(root)
        rows.append((f"eventlens serve, {files} thumbnails at once ({BIG_COPIES} big PNGs)",
                     f"{peak:.0f} MB (held after: {held:.0f} MB)", f"{seconds:.1f} s"))  # fmt: skip
    print("| measure | peak RSS | time |\n| --- | ---: | ---: |")
    for name, memory, seconds in rows:
        print(f"| {name} | {memory} | {seconds} |")
    print(f"\n{subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}; "
          f"{os.cpu_count()} cores")  # fmt: skip


if __name__ == "__main__":
    main()
