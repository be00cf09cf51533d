"""Running ``eventlens`` as a real process on a real folder, and reading what it left."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.polling import wait_until

EVENTLENS = str(Path(sys.executable).with_name("eventlens"))
BETA = "rekognition-input/beta/"


def db_of(root: Path) -> Path:
    return root / ".eventlens" / "eventlens.db"


def rows(root: Path, table: str = "beta_results") -> dict[str, dict[str, object]]:
    """key (below the beta prefix) → the record's columns; empty before the first write."""
    try:
        with sqlite3.connect(db_of(root), timeout=10) as conn:
            conn.row_factory = sqlite3.Row
            found = conn.execute(f'SELECT * FROM "{table}"').fetchall()
    except sqlite3.OperationalError:
        return {}
    return {str(r["filename"]).removeprefix(BETA): dict(r) for r in found}


class Runner:
    """``eventlens -v run`` in the background, its log in a file."""

    def __init__(self, root: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.log = root.parent / f"{root.name}-run.log"
        command = [EVENTLENS, "-v", "run", "--root", str(root), *args]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
            )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, fragment: str, timeout: float = 60) -> None:
        wait_until(lambda: fragment in self.text() or self.proc.poll() is not None, timeout)
        assert fragment in self.text(), self.text()[-3000:]

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then the exit code (a hang fails the test instead of blocking it)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            self.proc.kill()
            message = f"no exit {timeout:g} s after SIGTERM:\n{self.text()[-3000:]}"
            raise AssertionError(message) from exc

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
