"""For operators: Prometheus ``/metrics`` and ``/healthz``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from eventlens.web.deps import Registry

router = APIRouter(tags=["ops"])


@router.get("/metrics", response_class=Response, summary="Prometheus metrics")
def metrics(registry: Registry) -> Response:
    """Prometheus text format: records by environment and status, the error ratio, the
    processing-time histogram, dead-letter depth and intake backlog (local mode)."""
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz", summary="Liveness")
def healthz() -> dict[str, str]:
    """Always `{"status": "ok"}` while the server runs; needs no token."""
    return {"status": "ok"}
