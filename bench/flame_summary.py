"""Where a ``run --once`` spends its samples, by pipeline part, from py-spy's raw output.

    .venv/bin/py-spy record -r 50 -f raw -o bench/out/flame.txt --subprocesses -- \\
        .venv/bin/eventlens run --once --root bench/out/prof-root
    .venv/bin/python bench/flame_summary.py bench/out/flame.txt

Each stack is counted once, in the first part whose marker it contains (waiting threads by
their innermost frame); shares are of the samples in which a thread was not waiting.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

WAITING = ("Condition.wait", "_wait_for_tstate_lock", "Event.wait", "thread.py:81)", "sleep")
PARTS = (
    ("start-up (imports, sessions)", ("_find_and_load", "create_session", "build_model")),
    ("ONNX Runtime forward passes", ("Session.run",)),
    ("decode", ("ImageFile.load", "imaging.py")),
    ("read", ("LocalFolderStore.read",)),
    ("sha256", ("pipeline.py:196",)),
    ("image properties", ("image_properties",)),
    ("model inputs (resize, scale)", ("to_input", "signed_unit_chw", "PeopleFinder.prepare")),
    ("SQLite, intake, store", ("sqlite", "intake.py", "_store")),
    ("boxes and labels", ("ssd.py", "blazeface.py", "_findings", "confidences", "_label_scores")),
)


def summarise(raw: str) -> tuple[int, Counter[str]]:
    parts: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if any(w in frames[-1] for w in WAITING):
            parts["(waiting)"] += int(count)
            continue
        part = next((name for name, marks in PARTS if any(m in stack for m in marks)), "other")
        parts[part] += int(count)
    return sum(parts.values()) - parts["(waiting)"], parts


def main() -> None:
    busy, parts = summarise(Path(sys.argv[1]).read_text())
    print(f"{busy} busy samples")
    for name, count in parts.most_common():
        if name != "(waiting)":
            print(f"{count:7d}  {100 * count / busy:5.1f} %  {name}")


if __name__ == "__main__":
    main()
