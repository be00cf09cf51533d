"""The hook interface, and the list of hooks a pipeline fires."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from eventlens.outcome import Delivered, Outcome

log = logging.getLogger("eventlens.hooks")


class Hook:
    """Reacts to outcomes; override what you need. Never raises into processing: a failing
    hook is logged and the others still run."""

    def after_write(self, outcomes: Sequence[Outcome]) -> None:
        """The outcomes of one pipeline call, right after their records were written (a
        ``retry`` too: the caller may still give the event up, which is another call)."""

    def after_batch(self, delivered: Sequence[Delivered], environment: str) -> None:
        """One delivery batch's final outcomes (after retries were given up), fired by the edge
        that received it: the Lambda handler or ``eventlens worker``."""

    def close(self) -> None:
        """Deliver what is pending and release resources (at shutdown)."""


class Hooks(Hook):
    """Several hooks, fired in the order they were registered."""

    def __init__(self, hooks: Iterable[Hook] = ()) -> None:
        self.hooks = list(hooks)

    def after_write(self, outcomes: Sequence[Outcome]) -> None:
        for hook in self.hooks:
            try:
                hook.after_write(outcomes)
            except Exception:
                log.exception("hook %s failed", type(hook).__name__)

    def after_batch(self, delivered: Sequence[Delivered], environment: str) -> None:
        for hook in self.hooks:
            try:
                hook.after_batch(delivered, environment)
            except Exception:
                log.exception("hook %s failed", type(hook).__name__)

    def close(self) -> None:
        for hook in self.hooks:
            try:
                hook.close()
            except Exception:
                log.exception("closing hook %s failed", type(hook).__name__)
