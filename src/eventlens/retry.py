"""One retry policy: how many attempts an event gets, and one backoff (exponential, with jitter,
capped) for everything that waits before trying again: the intake queue, the SQS worker's
polling, the webhook, SQLite's switch to WAL and the runner's supervised parts."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


def backoff_delay(attempt: int, first_s: float, max_s: float, *, jitter: bool = True) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...): ``first_s``
    doubling up to ``max_s``; with jitter a random 50-100 % of it, so a burst of failures
    does not retry in lockstep."""
    capped = min(max_s, first_s * 2 ** max(0, attempt - 1))
    return float(capped * random.uniform(0.5, 1.0)) if jitter else float(capped)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """An event's attempts limit (``EVENTLENS_MAX_ATTEMPTS``) and the delay between them."""

    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 60.0

    def delay(self, attempts: int) -> float:
        return backoff_delay(attempts, self.base_delay_s, self.max_delay_s)

    def exhausted(self, attempts: int) -> bool:
        """Whether an event that failed on attempt ``attempts`` gets no further one."""
        return attempts >= self.max_attempts


def gave_up(after: int | str, reason: str) -> str:
    """The error of an event that is given up: ``after`` attempts (a count, or who retried)."""
    tries = f"{after} attempts" if isinstance(after, int) else after
    return f"gave up after {tries}: {reason}"


class Backoff:
    """Delays for a loop that retries while a fault lasts; ``reset()`` once it works."""

    def __init__(self, first_s: float = 0.5, max_s: float = 30.0) -> None:
        self.first_s, self.max_s = first_s, max_s
        self._failures = 0

    def next_delay(self) -> float:
        self._failures += 1
        return backoff_delay(self._failures, self.first_s, self.max_s)

    def reset(self) -> None:
        self._failures = 0


def retry_call(
    func: Callable[[], T],
    *,
    retry_if: Callable[[Exception], bool],
    deadline_s: float,
    first_s: float,
    max_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``func()``, retried with backoff while it raises what ``retry_if`` accepts, until
    ``deadline_s`` seconds have passed (then the last error is raised)."""
    deadline = time.monotonic() + deadline_s
    backoff = Backoff(first_s, max_s)
    while True:
        try:
            return func()
        except Exception as exc:
            if not retry_if(exc) or time.monotonic() >= deadline:
                raise
            sleep(backoff.next_delay())
