from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from eventlens.analyzers import registry
from eventlens.hooks.notify import LogNotifier
from eventlens.hooks.webhook import WebhookNotifier
from eventlens.results.record import Record, Status
from eventlens.settings import Settings
from eventlens.wiring import notifier_for
from eventlens.wiring.local import build_local_app
from tests.conftest import DominantColourAnalyzer
from tests.images import jpeg, write


class Hook(ThreadingHTTPServer):
    """Answers the first ``fail_first`` POSTs with ``fail_status``, records the rest."""

    def __init__(self, fail_first: int = 0, fail_status: int = 500, held: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.release = threading.Event()  # a held hook answers nothing until released
        if not held:
            self.release.set()
        self.attempts = 0
        self.received: list[dict[str, object]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class Handler(BaseHTTPRequestHandler):
    server: Hook

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.release.wait(60)
        with self.server.lock:
            self.server.attempts += 1
            failing = self.server.attempts <= self.server.fail_first
            if not failing:
                assert self.headers["Content-Type"] == "application/json"
                self.server.received.append(json.loads(body))
        self.send_response(self.server.fail_status if failing else 204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook(request: pytest.FixtureRequest) -> Iterator[Hook]:
    server = Hook(**getattr(request, "param", {"fail_first": 1}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def failed_record(name: str = "broken.jpg") -> Record:
    return Record(
        filename=f"rekognition-input/beta/{name}", environment="beta", status=Status.ERROR,
        error="corrupt or truncated JPEG image", sha256="ab" * 32,
        timestamp="2026-11-28T03:00:00.000000Z",
    )  # fmt: skip


def test_retries_a_500_then_delivers_the_notice(hook: Hook) -> None:
    notifier = WebhookNotifier(hook.url, retries=3, timeout=5, backoff_s=0.05)
    notifier.failure(failed_record())
    assert notifier.flush(timeout=10)
    notifier.close()
    assert hook.attempts == 2
    assert hook.received == [
        {
            "event": "analysis_failed",
            "filename": "rekognition-input/beta/broken.jpg",
            "environment": "beta",
            "error": "corrupt or truncated JPEG image",
            "timestamp": "2026-11-28T03:00:00.000000Z",
            "sha256": "ab" * 32,
            "s3_bucket": "",
            "branch": "local",
        }
    ]
    assert (notifier.sent, notifier.dropped) == (1, 0)


@pytest.mark.parametrize("hook", [{"fail_first": 1, "fail_status": 400}], indirect=True)
def test_a_4xx_is_not_retried(hook: Hook) -> None:
    notifier = WebhookNotifier(hook.url, retries=3, backoff_s=0.01)
    notifier.failure(failed_record())
    notifier.close()
    assert hook.attempts == 1 and hook.received == [] and notifier.sent == 0


@pytest.mark.parametrize("hook", [{"fail_first": 100}], indirect=True)
def test_gives_up_after_the_retries(hook: Hook) -> None:
    notifier = WebhookNotifier(hook.url, retries=2, backoff_s=0.01)
    notifier.failure(failed_record())
    notifier.close()
    assert hook.attempts == 3 and notifier.sent == 0


def send_in_background(notifier: WebhookNotifier, count: int) -> bool:
    """Whether ``count`` notices were handed over within 10 s (a notifier that waited on its
    endpoint would take at least the endpoint's time, held or 30 s, for the first)."""
    caller = threading.Thread(
        target=lambda: [notifier.failure(failed_record(f"{i}.jpg")) for i in range(count)]
    )
    caller.start()
    caller.join(timeout=10)
    return not caller.is_alive()


def test_unreachable_endpoint_never_raises_or_blocks() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: connection refused
    notifier = WebhookNotifier(f"http://127.0.0.1:{port}/", retries=1, backoff_s=0.01)
    for i in range(5):
        notifier.failure(failed_record(f"{i}.jpg"))
    notifier.close()
    assert notifier.sent == 0


def test_an_endpoint_that_never_answers_does_not_hold_up_the_caller() -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        notifier = WebhookNotifier(f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout=30)
        assert send_in_background(notifier, 5)
        notifier.close(timeout=0.5)
        assert notifier.sent == 0


@pytest.mark.parametrize("hook", [{"held": True}], indirect=True)
def test_a_slow_endpoint_does_not_hold_up_the_caller_and_the_queue_is_bounded(
    hook: Hook,
) -> None:
    notifier = WebhookNotifier(hook.url, max_pending=2, timeout=30)
    assert send_in_background(notifier, 10)  # while the hook still holds the first POST
    assert notifier.dropped >= 7  # one in flight, two queued
    hook.release.set()
    notifier.close(timeout=10)
    assert notifier.sent == len(hook.received) == 10 - notifier.dropped


def test_rejects_non_http_urls() -> None:
    with pytest.raises(ValueError):
        WebhookNotifier("file:///etc/passwd")


def test_settings_and_wiring_pick_the_webhook(tmp_path: Path, hook: Hook) -> None:
    settings = Settings.from_env({"EVENTLENS_WEBHOOK_URL": hook.url})
    assert settings.webhook_url == hook.url
    assert isinstance(notifier_for(Settings()), LogNotifier)
    notifier = notifier_for(settings)
    assert isinstance(notifier, WebhookNotifier) and notifier.url == hook.url
    notifier.close()


@pytest.fixture
def colour_analyzer(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fast real analyzer registered under a test name (no model download needed)."""
    monkeypatch.setitem(registry.FACTORIES, "colour", lambda _: DominantColourAnalyzer())
    return "colour"


@pytest.mark.parametrize("hook", [{"fail_first": 0}], indirect=True)
def test_pipeline_failure_reaches_the_webhook(
    tmp_path: Path, hook: Hook, colour_analyzer: str
) -> None:
    """End to end: `eventlens run --once --webhook URL` with one good and one corrupt image."""
    from typer.testing import CliRunner

    from eventlens.cli.main import app

    root = tmp_path / "bucket"
    write(root / "rekognition-input/beta/bad.jpg", b"\xff\xd8\xff\xe0 this is not a JPEG")
    write(root / "rekognition-input/beta/good.jpg", jpeg())
    result = CliRunner().invoke(
        app, ["run", "--once", "--root", str(root), "--webhook", hook.url,
              "--analyzers", colour_analyzer],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [n["filename"] for n in hook.received] == ["rekognition-input/beta/bad.jpg"]
    assert hook.received[0]["error"]


def test_local_app_closes_the_notifier(tmp_path: Path, hook: Hook, colour_analyzer: str) -> None:
    settings = Settings(
        root=tmp_path / "b", webhook_url=hook.url, analyzers={"*": [colour_analyzer]}
    )
    app_ = build_local_app(settings)
    assert isinstance(app_.notifier, WebhookNotifier)
    app_.notifier.failure(failed_record())
    app_.close()  # flushes: the notice is delivered before close returns
    assert [n["filename"] for n in hook.received] == ["rekognition-input/beta/broken.jpg"]
