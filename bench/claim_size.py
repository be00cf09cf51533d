"""What a watcher's claim of one image at a time costs (``EVENTLENS_WATCH_BATCH_SIZE``): the
floor's CPU per image of each part with the classifier fed 1, 2, 4, 8 and 16 images per forward
pass (one model thread, as each lane has), and whether the default analyzers' findings for the
same photos are the same claimed one at a time and 16 at a time.

    .venv/bin/python bench/claim_size.py                      # the bench corpus's 12-MP JPEGs
    .venv/bin/python bench/claim_size.py --photos DIR         # any folder of JPEGs
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import corpus
from bench.run import FLOOR_BATCHES, OUT, _floor_batch, floor_sessions
from eventlens.analyzers.base import Analyzer, Findings
from eventlens.imaging import ImageInput
from eventlens.settings import Settings
from eventlens.wiring import build_analyzers

BATCHES = (1, 2, 4, 8, 16)


def forward_cpu(files: list[Path], rounds: int) -> None:
    sessions, _graph = floor_sessions()
    blobs = [p.read_bytes() for p in files]
    _floor_batch(sessions, blobs[:2])  # first passes allocate
    print(f"the floor's CPU ms per image, {len(blobs)} images, by classifier batch:")
    for round_ in range(rounds):
        for batch in BATCHES:
            FLOOR_BATCHES["classifier"] = batch
            parts = _floor_batch(sessions, blobs)
            shown = ", ".join(f"{k} {v * 1000 / len(blobs):.1f}" for k, v in parts.items())
            print(f"  round {round_ + 1}, batch {batch:2}: {shown}", flush=True)
    FLOOR_BATCHES["classifier"] = 16


def findings(analyzers: list[Analyzer], files: list[Path], batch: int) -> list[list[str]]:
    """Each analyzer's findings for each file, as JSON text, claimed ``batch`` at a time."""
    out = []
    for analyzer in analyzers:
        images = [ImageInput(p.read_bytes(), p.name) for p in files]
        results: list[Findings | Exception] = []
        for i in range(0, len(images), batch):
            results += analyzer.analyze_batch(images[i : i + batch])
        out.append([json.dumps(r, sort_keys=True, default=str) for r in results])
    return out


def same_findings(files: list[Path]) -> None:
    _environment, analyzers = next(iter(build_analyzers(Settings(), threads=1).items()))
    one, sixteen = findings(analyzers, files, 1), findings(analyzers, files, 16)
    for analyzer, a, b in zip(analyzers, one, sixteen, strict=True):
        same = sum(x == y for x, y in zip(a, b, strict=True))
        print(f"{analyzer.name}: findings identical claimed 1 and 16 at a time: {same}/{len(a)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photos", type=Path, help="a folder of JPEGs (else the bench corpus)")
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if args.photos:
        files = sorted(args.photos.glob("*.jpg"))[: args.images]
    else:
        files = corpus.build(OUT / "corpus", args.images, 0)
    forward_cpu(files, args.rounds)
    same_findings(files)


if __name__ == "__main__":
    main()
