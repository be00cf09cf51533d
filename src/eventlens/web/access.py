"""Who may use the dashboard: same-origin writes, loopback host names, an optional token.

* **Cross-site writes** (CSRF): a browser sends ``Origin`` (and ``Sec-Fetch-Site``) with every
  POST; one from another origin (another site, scheme or port, or ``null``) is refused, so a
  page elsewhere cannot make a visitor's browser retry dead letters.
* **DNS rebinding**: a dashboard bound to loopback answers only requests addressed to a
  loopback name (``127.0.0.1``, ``localhost``, ``[::1]``). A hostile page whose name was
  rebound to 127.0.0.1 sends its own name in ``Host`` and is refused.
* **Token**: with one configured (``eventlens serve --token``, ``EVENTLENS_WEB_TOKEN``), every
  request but ``/healthz`` needs ``Authorization: Bearer TOKEN`` or the cookie set by opening
  any page once with ``?token=TOKEN``, which is what ``eventlens serve`` prints.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Collection
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
COOKIE = "eventlens_token"
OPEN_PATHS = frozenset({"/healthz"})

CallNext = Callable[[Request], Awaitable[Response]]


def host_name(host_header: str) -> str:
    """``[::1]:8000`` → ``::1``, ``Example.COM:80`` → ``example.com``."""
    try:
        return urlsplit(f"//{host_header}").hostname or ""
    except ValueError:  # a malformed port or bracket
        return ""


def is_loopback(host: str) -> bool:
    return host_name(host) in LOOPBACK_NAMES or host in LOOPBACK_NAMES


class AccessGuard:
    """The checks above as one HTTP middleware (``app.middleware("http")(guard)``)."""

    def __init__(
        self, *, allowed_hosts: Collection[str] | None = None, token: str | None = None
    ) -> None:
        self.allowed_hosts = frozenset(allowed_hosts) if allowed_hosts is not None else None
        self.token = token or None

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        host = request.headers.get("host", "")
        if self.allowed_hosts is not None and host_name(host) not in self.allowed_hosts:
            return _refuse(421, f"this dashboard does not answer for host {host!r}")
        writes = request.method not in ("GET", "HEAD", "OPTIONS")
        if writes and not _same_origin(request, host):
            return _refuse(403, "cross-origin POST refused")
        if self.token and request.url.path not in OPEN_PATHS:
            offered = request.query_params.get("token")
            if offered is not None and request.method == "GET" and self._valid(offered):
                return self._login(request, offered)
            if not self._authorised(request):
                return _refuse(401, "a token is needed: open the URL `eventlens serve` printed")
        return await call_next(request)

    def _authorised(self, request: Request) -> bool:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self._valid(credential.strip()):
            return True
        return self._valid(request.cookies.get(COOKIE, ""))

    def _valid(self, offered: str) -> bool:
        assert self.token is not None
        return hmac.compare_digest(offered.encode(), self.token.encode())

    @staticmethod
    def _login(request: Request, token: str) -> Response:
        """Trade ``?token=`` for a cookie and drop it from the address bar (and history)."""
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        # one leading slash: "//evil.example/" or "/\\evil.example/" would leave the site
        path = "/" + request.url.path.lstrip("/\\")
        target = path + (f"?{urlencode(rest)}" if rest else "")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
        return response


def _same_origin(request: Request, host: str) -> bool:
    """Browsers say where a request comes from; other clients (curl, scripts) say nothing."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return (parts.scheme, parts.netloc) == (request.url.scheme, host)


def _refuse(status: int, detail: str) -> Response:
    return JSONResponse({"detail": detail}, status_code=status)
