"""The ``eventlens`` executable: the Typer app, with a Ctrl-C during start-up (while the
heavy modules are still being imported) ending quietly instead of with a traceback."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from eventlens.cli.main import app

        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
