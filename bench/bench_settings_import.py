"""Cold-start cost of the settings model: fresh interpreters importing the Lambda handler,
pydantic-settings with a 20-field model (the alternative weighed), and eventlens.settings.

    .venv/bin/python bench/bench_settings_import.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

PYDANTIC_MODEL = (
    "from pydantic import Field\n"
    "from pydantic_settings import BaseSettings, SettingsConfigDict\n"
    "class S(BaseSettings):\n"
    "    model_config = SettingsConfigDict(env_prefix='EVENTLENS_')\n"
    + "".join(f"    f{i}: int = Field(default={i}, description='x')\n" for i in range(20))
    + "S()\n"
)
CASES = {
    "import eventlens.aws.handler": "import eventlens.aws.handler",
    "import eventlens.settings + load (AWS mode)": (
        "from eventlens.settings import Settings\nSettings.from_env(mode='aws')"
    ),
    "pydantic-settings + a 20-field model": PYDANTIC_MODEL,
}


def median_ms(code: str, runs: int) -> float:
    script = f"import time\nstarted = time.perf_counter()\n{code}\n"
    script += "print((time.perf_counter() - started) * 1000)"
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        times.append(float(out.stdout.split()[-1]))
    return statistics.median(times)


def main() -> None:
    runs = 9
    print(f"python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}, p50 of {runs} runs")
    for name, code in CASES.items():
        try:
            print(f"{name:48} {median_ms(code, runs):7.1f} ms")
        except subprocess.CalledProcessError as exc:
            print(f"{name:48} failed: {exc.stderr.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
