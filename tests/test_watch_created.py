"""A writer's file whose creation the watcher handles late (a busy machine: its first bytes are
already there, the events of its writes still queued) is not taken as complete while the
writer pauses: where the kernel reports closes, the close is waited for."""

from __future__ import annotations

import sys
import time

import pytest
from watchdog.events import FileCreatedEvent

from eventlens.events.base import ObjectEvent
from eventlens.events.local import FolderWatcher
from eventlens.routing import Router
from eventlens.storage.local import LocalFolderStore
from tests.images import encode, photo_like
from tests.polling import wait_until

BETA = "rekognition-input/beta/"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify reports closes")
def test_a_late_created_event_waits_for_the_writers_close_not_a_quiet_moment(
    bucket: LocalFolderStore,
) -> None:
    data = encode(photo_like(400, 300, seed=5), "JPEG")
    path = bucket.root / BETA / "copying.jpg"
    path.parent.mkdir(parents=True)
    handle = path.open("wb")
    handle.write(data[:1000])  # the writer's first bytes, before the watcher starts
    handle.flush()
    emitted: list[ObjectEvent] = []
    watcher = FolderWatcher(bucket, Router(), emitted.append, settle_s=1.0)
    watcher.start()
    try:
        # its creation handled now, late, with no write event behind it yet
        watcher.on_any_event(FileCreatedEvent(str(path)))
        time.sleep(0.3)  # the writer pauses: ten times ``quiet_s``
        assert emitted == []  # not taken as complete half-written
        handle.write(data[1000:])
        handle.close()  # inotify's close-after-write: emitted at once
        wait_until(lambda: emitted)
        time.sleep(0.1)
    finally:
        handle.close()
        watcher.stop()
    assert [(e.key, e.size) for e in emitted] == [(BETA + "copying.jpg", len(data))]
