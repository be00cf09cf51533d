"""Waiting for something another thread or process does."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    predicate: Callable[[], object],
    timeout: float = 30.0,
    explain: Callable[[], object] | None = None,
) -> None:
    """Poll ``predicate`` every 50 ms until it is true; fail the test after ``timeout`` s
    (with what ``explain`` returns then, if given)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    detail = f": {explain()}" if explain else ""
    raise AssertionError(f"condition not met within {timeout:g} s{detail}")
