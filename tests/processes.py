"""Running ``eventlens`` as a real process on a real folder, and reading what it left."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.polling import wait_until

EVENTLENS = str(Path(sys.executable).with_name("eventlens"))
BETA = "rekognition-input/beta/"


def db_of(root: Path) -> Path:
    return root / ".eventlens" / "eventlens.db"


def rows(
    root: Path, table: str = "beta_results", *, db: Path | None = None
) -> dict[str, dict[str, object]]:
    """key (below the beta prefix) → the record's columns; empty before the first write."""
    try:
        with sqlite3.connect(db or db_of(root), timeout=10) as conn:
            conn.row_factory = sqlite3.Row
            found = conn.execute(f'SELECT * FROM "{table}"').fetchall()
    except sqlite3.OperationalError:
        return {}
    return {str(r["filename"]).removeprefix(BETA): dict(r) for r in found}


class Runner:
    """``eventlens -v run`` in the background, its log in a file (``prefix``: a command that
    execs it, e.g. ``unshare ... sh -c '...; exec "$@"' sh``)."""

    def __init__(
        self,
        root: Path,
        *args: str,
        env: dict[str, str] | None = None,
        prefix: Sequence[str] = (),
    ) -> None:
        self.log = root.parent / f"{root.name}-run.log"
        command = [*prefix, EVENTLENS, "-v", "run", "--root", str(root), *args]
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``eventlens serve`` on 127.0.0.1 in the background."""

    def __init__(self, root: Path, *args: str, token: str | None = None) -> None:
        self.port = free_port()
        self.token = token
        self.log = root.parent / f"{root.name}-serve.log"
        command = [EVENTLENS, "serve", "--root", str(root), "--port", str(self.port), *args]
        if token:
            command += ["--token", token]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        wait_until(lambda: self._answers() or self.proc.poll() is not None, timeout=60)
        assert self.proc.poll() is None, self.log.read_text()[-3000:]

    def _answers(self) -> bool:
        try:
            self.get("/healthz")
        except OSError:
            return False
        return True

    def get(self, path: str, timeout: float = 30) -> tuple[int, bytes]:
        """(status, body), for error statuses too."""
        url = f"http://127.0.0.1:{self.port}{path}"
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                        timeout=timeout) as response:  # fmt: skip
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def health(self) -> tuple[int, dict[str, Any]]:
        status, body = self.get("/healthz")
        return status, json.loads(body)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
