"""Runner status files (``eventlens.health``): fixed-size, so that a full disk cannot silence
them, and readable whatever the faults say. The full-disk behaviour end to end is in
``test_failing_disk.py`` (a real tmpfs)."""

from __future__ import annotations

import json
from pathlib import Path

from eventlens.health import STATUS_FILE_BYTES, Health, read_runner_statuses


def test_status_files_have_a_fixed_size_and_tell_the_fault(tmp_path: Path) -> None:
    health = Health(tmp_path, owner="host:1")
    health.write_status()
    (path,) = tmp_path.glob("*.json")
    assert path.stat().st_size == STATUS_FILE_BYTES
    health.fault("lane-0", OSError(28, "No space left on device"))
    health.write_status()
    assert path.stat().st_size == STATUS_FILE_BYTES
    (status,) = read_runner_statuses(tmp_path)
    assert status.state == "degraded"
    assert "No space left" in status.faults["lane-0"]["error"]


def test_many_long_faults_still_fit_as_valid_json(tmp_path: Path) -> None:
    health = Health(tmp_path, owner="host:2")
    for i in range(400):
        health.fault(f"part-{i}", RuntimeError("x" * 5000))
    health.write_status()
    (path,) = tmp_path.glob("*.json")
    assert path.stat().st_size == STATUS_FILE_BYTES
    data = json.loads(path.read_bytes())
    assert data["state"] == "degraded" and data["faults"]
