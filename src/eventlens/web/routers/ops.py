"""For operators: Prometheus ``/metrics`` and ``/healthz``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from eventlens.web.deps import Health, Registry

router = APIRouter(tags=["ops"])


@router.get("/metrics", response_class=Response, summary="Prometheus metrics")
def metrics(registry: Registry) -> Response:
    """Prometheus text format: records by environment and status, the error ratio, the
    processing-time histogram, dead-letter depth and intake backlog (local mode)."""
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz", summary="Health of the store and the runners")
def healthz(health: Health) -> JSONResponse:
    """200 when the store answers and every runner on this database is healthy, else 503;
    the body says which part failed and why. Needs no token."""
    healthy, report = health.report()
    return JSONResponse(report, status_code=200 if healthy else 503)
