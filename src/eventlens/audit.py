"""An append-only JSON-lines log of pipeline outcomes (``eventlens run --audit-log FILE``)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from eventlens.pipeline import Outcome


class AuditLog:
    """One line per outcome, written and flushed after the record is stored."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def __call__(self, outcome: Outcome) -> None:
        record = outcome.record
        line = {
            "time": time.time(),
            "pid": os.getpid(),
            "key": outcome.event.key,
            "action": outcome.action.value,
            "reason": outcome.reason,
            "sha256": record.sha256 if record else None,
            "duration_ms": record.duration_ms if record else None,
        }
        with self._lock:
            self._handle.write(json.dumps(line, ensure_ascii=False) + "\n")
            self._handle.flush()

    def close(self) -> None:
        with self._lock:
            self._handle.close()
