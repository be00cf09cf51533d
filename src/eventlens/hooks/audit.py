"""An append-only JSON-lines log of pipeline outcomes (``eventlens run --audit-log FILE``)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from eventlens.hooks.base import Hook
from eventlens.outcome import Outcome


class AuditLog(Hook):
    """One line per outcome, written and flushed after the records are stored."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def after_write(self, outcomes: Sequence[Outcome]) -> None:
        lines = "".join(json.dumps(_line(o), ensure_ascii=False) + "\n" for o in outcomes)
        with self._lock:
            self._handle.write(lines)
            self._handle.flush()

    def close(self) -> None:
        with self._lock:
            self._handle.close()


def _line(outcome: Outcome) -> dict[str, object]:
    record = outcome.record
    return {
        "time": time.time(),
        "pid": os.getpid(),
        "key": outcome.event.key,
        "action": outcome.action.value,
        "reason": outcome.reason,
        "sha256": record.sha256 if record else None,
        "duration_ms": record.duration_ms if record else None,
    }
