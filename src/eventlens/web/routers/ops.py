"""For operators: Prometheus ``/metrics`` and ``/healthz``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from eventlens.web.deps import Registry

router = APIRouter(tags=["ops"])


@router.get("/metrics", response_class=Response)
def metrics(registry: Registry) -> Response:
    """Prometheus text format: records by env/status, duration histogram, DLQ depth."""
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
