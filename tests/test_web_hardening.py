"""``eventlens serve`` as a real process: no open redirect, writes only from its own origin,
thumbnails only of route images, and one answer for every key that has no thumbnail."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.images import jpeg, write
from tests.processes import BETA, Server
from tests.seed import seed

pytest.importorskip("uvicorn", reason="the web extra is not installed")

TOKEN = "correct-horse-battery-staple"


def request(
    server: Server, method: str, path: str, headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    """The raw request line as given (``//evil.example/`` stays a path), no redirects."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    sent = {
        "Host": f"127.0.0.1:{server.port}",
        "Authorization": f"Bearer {TOKEN}",
        "Content-Type": "application/json",
        **(headers or {}),
    }
    connection.request(method, path, body=b"{}" if method == "POST" else None, headers=sent)
    response = connection.getresponse()
    response.read()
    return response


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    seeded = seed(tmp_path_factory.mktemp("hardening"))
    seeded.close()
    write(seeded.root / "elsewhere" / "photo.jpg", jpeg())  # under the root, outside routes
    write(seeded.root / BETA / "junk.jpg", b"exists, but is no image")
    with Server(seeded.root, token=TOKEN) as running:
        yield running


def test_the_token_login_never_redirects_off_site(server: Server) -> None:
    for path in ("//evil.example/", "/\\evil.example/", "///evil.example/x"):
        response = request(server, "GET", f"{path}?token={TOKEN}", headers={"Authorization": ""})
        location = response.getheader("location") or ""
        assert response.status == 303 and location.startswith("/"), (path, location)
        assert not location.startswith(("//", "/\\")), (path, location)


def test_writes_need_the_same_scheme_host_and_port_and_no_cross_site_fetch(
    server: Server,
) -> None:
    own = f"http://127.0.0.1:{server.port}"
    refused = [
        {"Origin": f"https://127.0.0.1:{server.port}"},  # another scheme
        {"Origin": "http://127.0.0.1:1"},  # another port
        {"Origin": "null"},  # a sandboxed frame, a file: page
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": own},
    ]
    for headers in refused:
        assert request(server, "POST", "/api/dlq/retry", headers).status == 403, headers
    allowed = request(
        server, "POST", "/api/dlq/retry", {"Origin": own, "Sec-Fetch-Site": "same-origin"}
    )
    assert allowed.status == 200


def thumb(server: Server, key: str) -> tuple[int, bytes]:
    return server.get(f"/thumb?key={key}", timeout=60)


def test_thumbnails_only_for_route_images_and_no_existence_probe(
    server: Server, tmp_path: Path
) -> None:
    status, body = thumb(server, BETA + "coffee%20cup.jpg")
    assert status == 200 and body.startswith(b"\xff\xd8")
    for key in ("elsewhere/photo.jpg", ".eventlens/eventlens.db", BETA + ".hidden.jpg"):
        assert thumb(server, key)[0] == 403, key
    junk, missing = thumb(server, BETA + "junk.jpg"), thumb(server, BETA + "nope.jpg")
    assert junk[0] == missing[0] == 404
    assert json.loads(junk[1])["detail"].replace("junk", "nope") == json.loads(missing[1])["detail"]
