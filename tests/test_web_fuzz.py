"""Hostile parameters on every dashboard route never make a real `eventlens serve` answer 5xx.

The routes and their parameters are read from the routers themselves (a new route is fuzzed
without editing this file); the values are what a hand-edited address holds: dates at the edges
of the calendar, times that leave it once moved to UTC, cursors nested thousands deep, huge
numbers, any text. Bad values are a 422 that says what is wrong."""

from __future__ import annotations

import base64
import importlib
import json
import pkgutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.images import jpeg, write
from tests.processes import BETA, EVENTLENS, Server

pytest.importorskip("uvicorn", reason="the web extra is not installed")

KEYS = ("red.jpg", "blue.jpg")


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # FastAPI's template: /records/{env}/{key:path}
    query: tuple[str, ...]
    body: tuple[str, ...]  # JSON body fields

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _params(dependant: Any) -> Iterator[tuple[str, str]]:
    for kind, found in (("query", dependant.query_params), ("body", dependant.body_params)):
        for param in found:
            yield kind, param.alias
    for sub in dependant.dependencies:
        yield from _params(sub)


def dashboard_routes() -> list[Route]:
    """Every route of every router in ``eventlens.web.routers``."""
    import eventlens.web.routers as package

    found = []
    for info in pkgutil.iter_modules(package.__path__):
        router = getattr(importlib.import_module(f"{package.__name__}.{info.name}"), "router", None)
        for route in getattr(router, "routes", []):
            params = list(_params(route.dependant))
            query = tuple(sorted({n for k, n in params if k == "query"} | {"from", "token"}))
            body = tuple(sorted({n for k, n in params if k == "body"}))
            found += [Route(m, route.path, query, body) for m in sorted(route.methods)]
    return sorted(found, key=str)


def nested_cursor(depth: int) -> str:
    return base64.urlsafe_b64encode(b"[" * depth).decode().rstrip("=")


EDGES = [
    "9999-12-31", "0001-01-01", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.999999Z", "0000-00-00", "2024-02-30", "2024-13", "99999", "2024-07-14~",
    "", " ", "all", "beta", "prod", "ok", "error", "auto", "hour", "day", "month", "year",
    "captured", "processed", "faces", "text", "duplicates", "true", "on", "-1", "0", "1e9",
    "9" * 5000, "-" + "9" * 30, "nan", "inf", "[", "]", "{}", "null", "\x00", "%", "%00",
    "../../etc/passwd", "/", "\\", "🙂", "\ud7ff", "a" * 3000, BETA + KEYS[0],
    "env=beta&until=9999-12-31", "since=0001-01-01T00:00:00%2B01:00", "limit=" + "9" * 400,
    nested_cursor(3000), nested_cursor(50), base64.urlsafe_b64encode(b'["x", 1]').decode(),
]  # fmt: skip
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
DRAWN = st.one_of(
    TEXT,
    st.dates().map(date.isoformat),
    st.builds(
        lambda moment, offset: moment.isoformat() + offset,
        st.datetimes(),
        st.sampled_from(["", "Z", "+01:00", "-01:00", "+23:59", "-23:59", "+24:00"]),
    ),
    st.integers().map(str),
    st.integers(0, 5000).map(nested_cursor),
    st.binary(max_size=60).map(lambda b: base64.urlsafe_b64encode(b).decode()),
)
HOSTILE = st.one_of(st.sampled_from(EDGES), DRAWN)  # half of the values are edges
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | HOSTILE,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("fuzz") / "bucket"
    write(root / BETA / KEYS[0], jpeg((200, 30, 30)))
    write(root / BETA / KEYS[1], jpeg((30, 30, 200)))
    done = subprocess.run(
        [EVENTLENS, "run", "--once", "--root", str(root)], capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    with Server(root) as running:
        yield running


def request(server: Server, method: str, path: str, body: bytes | None, kind: str) -> int:
    headers = {"Content-Type": kind} if body is not None else {}
    url = f"http://127.0.0.1:{server.port}{path}"
    call = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(call, timeout=30) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code


def fill(template: str, values: dict[str, str]) -> str:
    path = template
    for name, value in values.items():
        safe = "/" if name == "key" else ""
        path = path.replace("{" + name + ":path}", urllib.parse.quote(value, safe=safe))
        path = path.replace("{" + name + "}", urllib.parse.quote(value, safe=safe))
    return path


ROUTES = dashboard_routes()
PATH_VALUES = ["beta", "prod", "all", BETA + KEYS[0]]


def test_the_routes_are_found() -> None:
    paths = {r.path for r in ROUTES}
    assert {"/", "/charts", "/api/records", "/api/stats", "/records/{env}/{key:path}"} <= paths
    records = next(r for r in ROUTES if r.path == "/api/records")
    assert {"after", "since", "until", "limit", "has"} <= set(records.query)


@pytest.mark.parametrize("route", ROUTES, ids=str)
@settings(
    max_examples=40, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(data=st.data())
def test_no_parameter_makes_a_route_fail(server: Server, route: Route, data: st.DataObject) -> None:
    path_values = {
        name: data.draw(
            st.one_of(st.sampled_from(["beta", "prod", "all", BETA + KEYS[0]]), HOSTILE)
        )
        for name in ("env", "key")
        if "{" + name in route.path
    }
    # a few parameters at a time: one bad value answers 422 before the others are read
    query = data.draw(st.lists(st.tuples(st.sampled_from(route.query), HOSTILE), max_size=3))
    url = fill(route.path, path_values)
    if query:
        url += "?" + urllib.parse.urlencode(query)
    body, kind = None, ""
    if route.method == "POST" and route.body:
        fields = data.draw(st.dictionaries(st.sampled_from(route.body), JSON_VALUE))
        body, kind = json.dumps(fields).encode(), "application/json"
    elif route.method == "POST":
        form = data.draw(st.lists(st.tuples(st.sampled_from(["ids", "keys", "env"]), HOSTILE)))
        body, kind = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
    status = request(server, route.method, url, body, kind)
    assert status < 500, (route.method, url, body)


def path_for(route: Route) -> str:
    return fill(route.path, {"env": "beta", "key": BETA + KEYS[0]})


@pytest.mark.parametrize("route", [r for r in ROUTES if r.method == "GET"], ids=str)
def test_every_edge_value_on_every_parameter(server: Server, route: Route) -> None:
    """Each of ``EDGES`` alone in each query parameter (what random drawing may miss)."""
    failed = []
    for name in route.query:
        for value in EDGES:
            url = f"{path_for(route)}?{urllib.parse.urlencode({name: value})}"
            if request(server, "GET", url, None, "") >= 500:
                failed.append(url[:200])
    assert not failed, failed


REPORTED = [
    "/api/records?until=9999-12-31T23:59:59-01:00",
    "/api/records?since=0001-01-01T00:00:00%2B01:00",
    "/api/stats?since=0001-01-01T00:00:00%2B01:00",
    "/api/stats?until=9999-12-31T23:59:59-01:00",
    "/?since=0001-01-01T00:00:00%2B01:00",
    "/charts?since=0001-01-01T00:00:00%2B01:00",
    f"/records/beta/{BETA}{KEYS[0]}?"
    + urllib.parse.urlencode(
        {"from": urllib.parse.urlencode({"since": "0001-01-01T00:00:00+01:00"})}
    ),
]


@pytest.mark.parametrize("path", REPORTED)
def test_times_outside_the_calendar_are_422_with_a_message(server: Server, path: str) -> None:
    status, body = server.get(path)
    assert status == 422, (path, body[:300])
    assert b"outside the years 1 to 9999" in body, body[:2000]


@pytest.mark.parametrize("path", ["/api/records", "/api/stats", "/", "/charts"])
def test_the_last_day_there_is_is_a_valid_upper_bound(server: Server, path: str) -> None:
    status, body = server.get(path + "?until=9999-12-31")
    assert status == 200, body[:300]
    if path == "/api/records":
        assert {r["filename"] for r in json.loads(body)["records"]} == {BETA + k for k in KEYS}


@pytest.mark.parametrize("path", ["/api/records", "/"])
def test_a_cursor_nested_thousands_deep_is_422(server: Server, path: str) -> None:
    status, body = server.get(f"{path}?after={nested_cursor(3000)}")
    assert status == 422 and b"not a page cursor" in body, body[:300]
