"""The ``eventlens`` executable: the Typer app, with a Ctrl-C at any moment ending quietly
instead of with a traceback.

While the heavy modules are still being imported nothing has started, so a SIGINT then exits
at once. Raising ``KeyboardInterrupt`` inside an import is not enough: Python can wrap it
(``dataclasses`` turns it into ``RuntimeError: Error calling __set_name__``)."""

# The SIGINT handler goes in before any other import: ``signal`` alone pulls in enum, functools
# and collections (~10 ms), and a Ctrl-C inside them would print Python's traceback. ``os`` is
# already loaded by the interpreter's start-up and ``_signal`` is built in, so neither imports.
import _signal  # type: ignore[import-not-found]  # built in; typeshed has no stub
import os

INTERRUPTED = 130


def _exit_during_start_up(signum: int, frame: object) -> None:
    os.write(2, b"interrupted\n")
    os._exit(INTERRUPTED)


_signal.signal(_signal.SIGINT, _exit_during_start_up)

import signal  # noqa: E402
import sys  # noqa: E402


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
    from eventlens.cli.main import app

    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        app()
    except BaseException as error:
        if isinstance(error, SystemExit) or not _caused_by_interrupt(error):
            raise
        sys.stderr.write("interrupted\n")
        sys.exit(INTERRUPTED)
