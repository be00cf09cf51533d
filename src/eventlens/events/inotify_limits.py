"""The kernel's inotify limits: which setting to raise, how many watches are needed, and
watchdog's warning about a folder it could not watch turned into a call."""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: What inotify_add_watch answers when a limit is reached, and the setting that raises it.
LIMITS = {
    errno.ENOSPC: "fs.inotify.max_user_watches",
    errno.EMFILE: "fs.inotify.max_user_instances",
}
WATCHDOG_INOTIFY_LOG = "watchdog.observers.inotify"


@dataclass(frozen=True, slots=True)
class Unwatched:
    """Folders that could not be watched because a kernel limit was reached."""

    folder: str
    setting: str  # the sysctl that raises the limit
    limit: int | None  # its value, where readable
    needed: int  # folders to watch in all (one watch each)

    def describe(self) -> str:
        value = f" = {self.limit:,}" if self.limit is not None else ""
        return (
            f"cannot watch {self.folder}: the inotify limit is reached ({self.setting}{value}; "
            f"{self.needed:,} folders to watch, one watch each, plus those of other programs "
            f"of this user); raise it, e.g. sysctl {self.setting}={max(2 * self.needed, 8192)}"
        )


def count_folders(folders: list[Path]) -> int:
    """How many watches a recursive watch of ``folders`` takes (symbolic links not followed)."""
    return sum(1 + sum(len(dirs) for _, dirs, _ in os.walk(folder)) for folder in folders)


def limit_value(setting: str) -> int | None:
    """The limit in force: the smallest of the system's and this user namespace's values."""
    names = {"fs.inotify.max_user_watches": ("fs/inotify/max_user_watches",
                                             "user/max_inotify_watches"),
             "fs.inotify.max_user_instances": ("fs/inotify/max_user_instances",
                                               "user/max_inotify_instances")}  # fmt: skip
    values = []
    for name in names.get(setting, ()):
        try:
            values.append(int(Path("/proc/sys", name).read_text()))
        except (OSError, ValueError):
            continue
    return min(values) if values else None


class UnwatchedFolderFilter(logging.Filter):
    """Turns watchdog's warning about a folder it could not watch (a kernel limit reached,
    logged once per folder and otherwise ignored) into a call of ``report``."""

    def __init__(self, report: Callable[[str, OSError], None]) -> None:
        super().__init__()
        self.report = report

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        error = record.exc_info[1] if record.exc_info else args[-1] if args else None
        if not (isinstance(error, OSError) and error.errno in LIMITS):
            return True
        folder = args[0] if args and isinstance(args[0], str | bytes) else "?"
        self.report(os.fsdecode(folder), error)
        return False  # said once, in our words
