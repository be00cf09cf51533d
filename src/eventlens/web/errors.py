"""Errors as an HTML page for people (the pages) and as JSON for programs (``/api``, metrics).

A bad value in a page's address (an unknown environment, a malformed date or cursor) shows a
readable page with a way back instead of a bare JSON body.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from eventlens.web.deps import dashboard

JSON_PATHS = frozenset({"/metrics", "/healthz", "/openapi.json", "/thumb"})  # /thumb: for <img>


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path in JSON_PATHS


def install_error_pages(app: FastAPI) -> None:
    app.exception_handler(HTTPException)(_http_error)
    app.exception_handler(RequestValidationError)(_invalid_request)
    app.exception_handler(ValueError)(_bad_value)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if wants_json(request):
        return await http_exception_handler(request, exc)
    return _page(request, exc.status_code, str(exc.detail))


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if wants_json(request):
        return await request_validation_exception_handler(request, exc)
    problems = [
        f"{error['loc'][-1]}: {error['msg']}" if error.get("loc") else str(error["msg"])
        for error in exc.errors()
    ]
    return _page(request, 422, "; ".join(problems))


def _bad_value(request: Request, exc: Exception) -> Response:
    if wants_json(request):
        return JSONResponse({"detail": str(exc)}, status_code=422)
    return _page(request, 422, str(exc))


def _page(request: Request, status: int, detail: str) -> Response:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return dashboard(request).templates.TemplateResponse(
        request,
        "error.html",
        {"page": "error", "env": None, "status": status, "title": title, "detail": detail},
        status_code=status,
    )
