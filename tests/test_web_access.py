"""Who may use the dashboard: loopback host names, same-origin writes, the optional token."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")
pytest.importorskip("httpx2", reason="TestClient needs httpx2")

from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from eventlens.cli.main import app as cli
from eventlens.web import create_app
from eventlens.web.access import COOKIE, LOOPBACK_NAMES, host_name, is_loopback
from tests.seed import Seeded

TOKEN = "correct-horse-battery-staple"


def test_host_names() -> None:
    assert host_name("[::1]:8000") == "::1" and host_name("Example.COM:80") == "example.com"
    assert host_name("127.0.0.1") == "127.0.0.1" and host_name("[bad") == ""
    assert is_loopback("localhost") and is_loopback("::1") and not is_loopback("0.0.0.0")


def test_a_loopback_dashboard_refuses_other_host_names(seeded: Seeded) -> None:
    app = create_app(seeded.store, seeded.queue, allowed_hosts=LOOPBACK_NAMES)
    client = TestClient(app, base_url="http://127.0.0.1:8000")
    for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST"):
        assert client.get("/api/dlq", headers={"Host": host}).status_code == 200, host
    rebound = {"Host": "evil.example:8000", "Origin": "http://evil.example:8000"}
    assert client.get("/api/records", headers=rebound).status_code == 421
    assert client.post("/api/dlq/retry", json={}, headers=rebound).status_code == 421
    assert len(seeded.queue.dead_letters()) == 1


def test_with_a_token_every_request_but_healthz_needs_it(seeded: Seeded) -> None:
    client = TestClient(create_app(seeded.store, seeded.queue, token=TOKEN))
    assert client.get("/healthz").status_code == 200
    for path in ("/", "/api/records", "/metrics", "/dlq", "/openapi.json"):
        assert client.get(path).status_code == 401, path
    assert client.post("/api/dlq/retry", json={}).status_code == 401
    for wrong in ("Bearer nope", f"Basic {TOKEN}", f"Bearer {TOKEN}x", ""):
        assert client.get("/api/records", headers={"Authorization": wrong}).status_code == 401
    assert client.get("/?token=nope").status_code == 401
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/api/records", headers=bearer).json()["count"] > 0
    assert client.post("/api/dlq/retry", json={}, headers=bearer).json() == {"requeued": 1}
    assert client.cookies.get(COOKIE) is None


def test_the_printed_url_trades_the_token_for_a_cookie(seeded: Seeded) -> None:
    client = TestClient(create_app(seeded.store, seeded.queue, token=TOKEN))
    login = client.get(f"/gallery?env=beta&token={TOKEN}", follow_redirects=False)
    assert login.status_code == 303 and login.headers["location"] == "/gallery?env=beta"
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN in cookie
    assert client.get("/api/records").status_code == 200  # the cookie from now on
    page = client.get("/dlq")
    assert page.status_code == 200 and TOKEN not in page.text


Probe = Callable[[TestClient], None]


def serve_and_probe(monkeypatch: pytest.MonkeyPatch, args: list[str], probe: Probe) -> str:
    """Run `eventlens serve` with uvicorn.run replaced by ``probe`` on the app it was given
    (so no port is bound: the point is a non-loopback --host); return the command's output."""
    import uvicorn

    probed: list[bool] = []

    def run(app: FastAPI, host: str, port: int, **_: object) -> None:
        probe(TestClient(app, base_url=f"http://{host}:{port}"))
        probed.append(True)

    monkeypatch.setattr(uvicorn, "run", run)
    result = CliRunner().invoke(cli, ["serve", *args])
    assert result.exit_code == 0 and probed, result.output
    return result.output


def test_serve_makes_up_a_token_for_a_non_loopback_host(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVENTLENS_WEB_TOKEN", raising=False)
    monkeypatch.setattr("eventlens.cli.serve.secrets.token_urlsafe", lambda n: "made-up-" + "x" * n)
    made_up = "made-up-" + "x" * 24

    def probe(client: TestClient) -> None:
        assert client.get("/api/records").status_code == 401
        headers = {"Host": "192.0.2.10:8000", "Authorization": f"Bearer {made_up}"}
        assert client.get("/api/records", headers=headers).status_code == 200

    output = serve_and_probe(monkeypatch, ["--root", str(seeded.root), "--host", "0.0.0.0"], probe)
    assert f"http://0.0.0.0:8000/?token={made_up}" in output


def test_serve_token_options(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLENS_WEB_TOKEN", TOKEN)

    def loopback_with_token(client: TestClient) -> None:
        assert client.get("/api/records").status_code == 401
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert client.get("/api/records", headers=bearer).status_code == 200
        assert (
            client.get("/api/records", headers={**bearer, "Host": "evil.example"}).status_code
            == 421
        )

    output = serve_and_probe(monkeypatch, ["--root", str(seeded.root)], loopback_with_token)
    assert f"http://127.0.0.1:8000/?token={TOKEN}" in output
    monkeypatch.delenv("EVENTLENS_WEB_TOKEN")

    def open_to_all(client: TestClient) -> None:
        assert client.get("/api/records").status_code == 200

    args = ["--root", str(seeded.root), "--host", "0.0.0.0", "--no-login"]
    output = serve_and_probe(monkeypatch, args, open_to_all)
    assert "no token" in output and "?token=" not in output
