"""The ``eventlens`` executable: the Typer app, with a Ctrl-C at any moment ending quietly
instead of with a traceback.

While the heavy modules are still being imported nothing has started, so a SIGINT then exits
at once. Raising ``KeyboardInterrupt`` inside an import is not enough: Python can wrap it
(``dataclasses`` turns it into ``RuntimeError: Error calling __set_name__``)."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

INTERRUPTED = 130


def _exit_during_start_up(signum: int, frame: FrameType | None) -> None:
    os.write(2, b"interrupted\n")
    os._exit(INTERRUPTED)


def _caused_by_interrupt(error: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def main() -> None:
    previous = signal.signal(signal.SIGINT, _exit_during_start_up)
    try:
        from eventlens.cli.main import app
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        app()
    except BaseException as error:
        if isinstance(error, SystemExit) or not _caused_by_interrupt(error):
            raise
        sys.stderr.write("interrupted\n")
        sys.exit(INTERRUPTED)
