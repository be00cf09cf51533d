"""``eventlens serve`` as a real process on 127.0.0.1, plus chart helpers."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")
pytest.importorskip("uvicorn", reason="the web extra is not installed")

from eventlens.results.stats import Granularity, bucket_starts, resolve_granularity
from eventlens.web.charts import Bar, bar_chart, donut, hbar_chart
from tests.seed import seed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.timeout(60)
def test_serve_command_binds_localhost_and_serves(tmp_path: Path) -> None:
    seeded = seed(tmp_path)
    seeded.close()
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from eventlens.cli.main import app; app()", "serve",
         "--root", str(seeded.root), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert json.load(r)["status"] == "ok"
                break
            except OSError:
                assert process.poll() is None, process.communicate()[0]
                assert time.monotonic() < deadline, "serve did not come up"
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/dlq", timeout=5) as r:
            assert json.load(r)["count"] == 1
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            assert b'eventlens_records{environment="beta",status="ok"} 5.0' in r.read()
        rebound = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/records", headers={"Host": f"evil.example:{port}"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(rebound, timeout=5)
        assert refused.value.code == 421  # DNS rebinding: loopback answers loopback names only
        listening = subprocess.run(
            ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=False
        ).stdout
        if listening:  # ss is there: the socket is bound to loopback only
            local_addresses = {line.split()[3] for line in listening.splitlines()}
            assert local_addresses == {f"127.0.0.1:{port}"}
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_without_a_database_says_so(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from eventlens.cli.main import app

    result = CliRunner().invoke(app, ["serve", "--root", str(tmp_path / "none")])
    assert result.exit_code == 2 and "no results database" in result.output
    help_text = CliRunner().invoke(app, ["serve", "--help"]).output
    assert "--host" in help_text and "127.0.0.1" in help_text and "--backend" in help_text


def test_bucket_starts_fill_gaps() -> None:
    assert bucket_starts("2026-11-28T09:50:01Z", "2026-11-28T12:01:00Z", Granularity.HOUR) == [
        "2026-11-28T09", "2026-11-28T10", "2026-11-28T11", "2026-11-28T12"
    ]  # fmt: skip
    assert bucket_starts("2026-11-28T23:59", "2026-11-29T00:01", Granularity.MINUTE) == [
        "2026-11-28T23:59", "2026-11-29T00:00", "2026-11-29T00:01"
    ]  # fmt: skip
    assert bucket_starts("2026-02-27", "2026-03-01", Granularity.DAY) == [
        "2026-02-27", "2026-02-28", "2026-03-01"
    ]  # fmt: skip


def test_auto_granularity() -> None:
    first = "2026-11-28T00:00:00Z"
    assert resolve_granularity(Granularity.AUTO, first, "2026-11-28T01:59:00Z") == "minute"
    assert resolve_granularity(Granularity.AUTO, first, "2026-12-02T00:00:00Z") == "hour"
    assert resolve_granularity(Granularity.AUTO, first, "2026-12-28T00:00:00Z") == "day"
    assert resolve_granularity(Granularity.DAY, first, "2026-11-28T00:01:00Z") == "day"


def test_charts_escape_and_scale() -> None:
    svg = bar_chart([Bar("<b>", 2, 1), Bar("x", 4)], chart_id="c", title="T & <script>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg
    assert svg.count('class="bar-ok"') == 2 and svg.count('class="bar-error"') == 1
    assert "no data" in bar_chart([], chart_id="e", title="empty")
    rows = hbar_chart([("Dog", 10), ("Cat", 5)], chart_id="h", title="top")
    assert rows.count("<rect") == 2 and "Dog" in rows
    assert "25.0%" in donut(0.25, chart_id="d", title="err", caption="1 of 4")


def test_core_cli_works_without_the_web_and_archive_extras(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "for m in ('fastapi', 'uvicorn', 'prometheus_client', 'jinja2', 'pyarrow', 'starlette'):\n"
        "    sys.modules[m] = None\n"
        "from typer.testing import CliRunner\n"
        "from eventlens.cli.main import app\n"
        f"r = CliRunner().invoke(app, ['serve', '--root', {str(tmp_path)!r}])\n"
        "print(r.exit_code, r.output)\n"
        f"r = CliRunner().invoke(app, ['archive', '--env', 'beta', '--older-than', '1d',"
        f" '--to', {str(tmp_path)!r}, '--root', {str(tmp_path)!r}])\n"
        "print(r.exit_code, r.output)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    text = " ".join(out.split())  # Rich wraps long lines
    assert text.count("2 import of") == 2
    assert "pip install 'eventlens[web]'" in text and "pip install 'eventlens[archive]'" in text
