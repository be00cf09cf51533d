"""Run a command and report its peak resident memory (without /usr/bin/time).

An intermediate Python process runs the command as its only child, so
``RUSAGE_CHILDREN`` there is exactly the command's peak, whatever else the caller ran before.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

_WRAPPER = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
sys.stderr.buffer.write(done.stderr)
print(json.dumps({"rc": done.returncode,
                  "kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


@dataclass(frozen=True, slots=True)
class Measured:
    returncode: int
    stderr: str
    peak_mb: float


def run_measuring_peak_rss(command: list[str], timeout: float | None = None) -> Measured:
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *command],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return Measured(int(report["rc"]), done.stderr, int(report["kb"]) / 1024)
