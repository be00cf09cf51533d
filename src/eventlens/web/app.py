"""The dashboard: a FastAPI app over any ResultStore (read-only) and, locally, the intake queue.

HTML pages (gallery, charts, dead letters) are rendered server-side with inline SVG charts, so
they work offline; the same data is served as JSON under ``/api``; ``/metrics`` is Prometheus.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Body, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from eventlens import __version__
from eventlens.imaging import ImageRejected
from eventlens.intake import DeadLetter, IntakeQueue
from eventlens.results.base import Query as RecordQuery
from eventlens.results.base import ResultStore
from eventlens.results.record import Record, Status
from eventlens.results.stats import (
    LATENCY_BOUNDS_MS,
    Granularity,
    Stats,
    ThroughputBucket,
    bucket_starts,
)
from eventlens.web.access import AccessGuard
from eventlens.web.charts import Bar, bar_chart, donut, hbar_chart
from eventlens.web.health import HealthCollector, HealthProbe
from eventlens.web.images import ImageSource, LocalImageSource, PathRefused
from eventlens.web.metrics import StoreCollector, build_registry

TEMPLATES = Path(__file__).parent / "templates"
MAX_LIMIT = 500
MAX_BARS = 120  # the throughput chart shows at most the last this many buckets


def create_app(
    store: ResultStore,
    queue: IntakeQueue | None = None,
    image_source: ImageSource | None = None,
    *,
    environments: Sequence[str] | None = None,
    metrics_cache_s: float | None = None,
    allowed_hosts: Collection[str] | None = None,
    token: str | None = None,
    health: HealthProbe | None = None,
) -> FastAPI:
    """``environments`` defaults to the store's configured tables (SQLite) or beta, prod.
    ``metrics_cache_s``: how long /metrics and the gallery's totals reuse store aggregates
    (default: 0 where they are cheap (SQLite), else 60 s: a DynamoDB count reads the table).
    ``allowed_hosts`` (host names the app answers for; any if None) and ``token``: see
    ``eventlens.web.access``."""
    envs = list(environments or getattr(store, "tables", None) or ["beta", "prod"])
    queue_lock = threading.Lock()  # IntakeQueue shares one SQLite connection
    if metrics_cache_s is None:
        metrics_cache_s = 0.0 if store.cheap_aggregates else 60.0
    collector = StoreCollector(store, envs, queue, cache_s=metrics_cache_s)
    registry = build_registry(collector)
    health = health or HealthProbe(store, envs)
    registry.register(HealthCollector(health))
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals.update(
        version=__version__, environments=envs, has_queue=queue is not None
    )
    templates.env.filters["findings"] = findings_summary
    templates.env.filters["when"] = _format_epoch

    app = FastAPI(
        title="eventlens dashboard",
        version=__version__,
        description="Read-only view of eventlens results; dead-letter retry for local mode.",
        docs_url=None,  # Swagger UI and ReDoc load their assets from a CDN: see /docs
        redoc_url=None,
    )

    def check_env(env: str | None) -> str:
        env = env or envs[0]
        if env not in envs:
            raise HTTPException(404, f"unknown environment {env!r} (known: {', '.join(envs)})")
        return env

    def need_queue() -> IntakeQueue:
        if queue is None:
            raise HTTPException(404, "no intake queue: dead letters exist only in local mode")
        return queue

    def records_for(
        env: str | None, label: str | None, status: Status | None,
        since: str | None, until: str | None, prefix: str | None, limit: int,
    ) -> tuple[str, list[Record]]:  # fmt: skip
        env = check_env(env)
        query = RecordQuery(
            env,
            label=label or None,
            status=status,
            since=time_bound(since),
            until=time_bound(until, end=True),
            prefix=prefix or None,
            limit=limit,
        )
        return env, store.query(query)

    # -- HTML ---------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def gallery(
        request: Request,
        env: str | None = None,
        label: str | None = None,
        status: str | None = None,  # the form sends "" for "any"
        since: str | None = None,
        until: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 60,
    ) -> Response:
        status_ = _status_or_422(status)
        env, records = records_for(env, label, status_, since, until, None, limit)
        total, errors = collector.totals(env)
        cards = [
            {"record": r, "thumb": image_source.thumbnail_url(r) if image_source else None}
            for r in records
        ]
        return templates.TemplateResponse(
            request,
            "gallery.html",
            {
                "page": "gallery", "env": env, "cards": cards, "label": label or "",
                "status": status_.value if status_ else "", "since": since or "",
                "until": until or "", "limit": limit,
                "total": total, "errors": errors,
            },
        )  # fmt: skip

    @app.get("/charts", response_class=HTMLResponse, include_in_schema=False)
    def charts(
        request: Request,
        env: str | None = None,
        since: str | None = None,
        until: str | None = None,
        granularity: Granularity = Granularity.AUTO,
    ) -> Response:
        env = check_env(env)
        stats = store.stats(
            env, since=time_bound(since), until=time_bound(until, end=True),
            granularity=granularity, top=12,
        )  # fmt: skip
        return templates.TemplateResponse(
            request,
            "charts.html",
            {
                "page": "charts", "env": env, "stats": stats, "since": since or "",
                "until": until or "", "granularity": granularity.value,
                **render_charts(stats),
            },
        )  # fmt: skip

    @app.get("/dlq", response_class=HTMLResponse, include_in_schema=False)
    def dlq_page(request: Request, moved: int | None = None) -> Response:
        letters: list[DeadLetter] = []
        pending = 0
        if queue is not None:
            with queue_lock:
                letters = queue.dead_letters(limit=500)
                pending = queue.pending()
        return templates.TemplateResponse(
            request,
            "dlq.html",
            {"page": "dlq", "letters": letters, "pending": pending, "moved": moved, "env": None},
        )

    @app.post("/dlq/retry", include_in_schema=False)
    async def dlq_retry_form(request: Request) -> Response:
        """The page's Retry buttons: an urlencoded form with ``id`` (a number or ``all``)."""
        q = need_queue()
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        dead_id = form.get("id", ["all"])[0]
        ids = None if dead_id == "all" else [_int_or_422(dead_id)]
        with queue_lock:
            moved = q.retry_dead(ids)
        return RedirectResponse(f"/dlq?moved={moved}", status_code=303)

    @app.get("/thumb", include_in_schema=False)
    def thumbnail(key: str) -> Response:
        if not isinstance(image_source, LocalImageSource):
            raise HTTPException(404, "no local image folder configured")
        try:
            data = image_source.thumbnail(key)
        except PathRefused as exc:
            raise HTTPException(403, str(exc)) from exc
        except FileNotFoundError as exc:
            raise HTTPException(404, f"no such image: {key!r}") from exc
        except ImageRejected as exc:
            raise HTTPException(415, str(exc)) from exc
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=300"})

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs(request: Request) -> Response:
        spec = app.openapi()
        operations = [
            {
                "method": method.upper(), "path": path,
                "summary": op.get("summary", ""), "description": op.get("description", ""),
                "params": [
                    f"{p['name']} ({p['in']}{', required' if p.get('required') else ''})"
                    for p in op.get("parameters", [])
                ],
            }
            for path, methods in spec["paths"].items()
            for method, op in methods.items()
        ]  # fmt: skip
        return templates.TemplateResponse(
            request, "docs.html", {"page": "docs", "operations": operations, "env": None}
        )

    # -- JSON API -----------------------------------------------------------------------------

    @app.get("/api/environments", tags=["records"])
    def api_environments() -> dict[str, Any]:
        """The environments (tables) this dashboard reads."""
        return {"environments": envs}

    @app.get("/api/records", tags=["records"])
    def api_records(
        env: str | None = None,
        label: str | None = None,
        status: Status | None = None,
        since: Annotated[str | None, Query(description="ISO date or time, inclusive")] = None,
        until: Annotated[str | None, Query(description="ISO time (exclusive) or date")] = None,
        prefix: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    ) -> dict[str, Any]:
        """Newest records first, filtered by label, status, time and key prefix."""
        env, records = records_for(env, label, status, since, until, prefix, limit)
        return {
            "environment": env,
            "count": len(records),
            "records": [r.to_dict() for r in records],
        }

    @app.get("/api/records/{env}/{key:path}", tags=["records"])
    def api_record(env: str, key: str) -> dict[str, Any]:
        """One record by environment and object key."""
        record = store.get(check_env(env), key)
        if record is None:
            raise HTTPException(404, f"no record for {key!r} in {env}")
        return record.to_dict()

    @app.get("/api/stats", tags=["stats"])
    def api_stats(
        env: str | None = None,
        since: str | None = None,
        until: str | None = None,
        granularity: Granularity = Granularity.AUTO,
        top: Annotated[int, Query(ge=0, le=100)] = 10,
    ) -> dict[str, Any]:
        """Throughput per minute/hour/day, latency histogram, top labels, error rate."""
        env = check_env(env)
        return store.stats(
            env, since=time_bound(since), until=time_bound(until, end=True),
            granularity=granularity, top=top,
        ).to_dict()  # fmt: skip

    @app.get("/api/dlq", tags=["dead letters"])
    def api_dlq(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        """Dead-lettered events of the local intake queue, newest first."""
        q = need_queue()
        with queue_lock:
            letters = q.dead_letters(limit=limit)
            pending = q.pending()
        return {
            "count": len(letters),
            "pending": pending,
            "dead_letters": [
                {
                    "id": d.id, "bucket": d.event.bucket, "key": d.event.key,
                    "attempts": d.attempts, "error": d.error, "failed_at": d.failed_at,
                }
                for d in letters
            ],
        }  # fmt: skip

    @app.post("/api/dlq/retry", tags=["dead letters"])
    def api_dlq_retry(
        ids: Annotated[list[int] | None, Body(embed=True, description="null: all")] = None,
    ) -> dict[str, int]:
        """Move dead letters back into the intake queue; `eventlens run` processes them."""
        q = need_queue()
        with queue_lock:
            return {"requeued": q.retry_dead(ids)}

    @app.get("/metrics", tags=["ops"], response_class=Response)
    def metrics() -> Response:
        """Prometheus text format: records by env/status, duration histogram, DLQ depth."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> JSONResponse:
        """200 when the store answers and every runner is healthy, else 503; says which."""
        healthy, report = health.report()
        return JSONResponse(report, status_code=200 if healthy else 503)

    app.middleware("http")(AccessGuard(allowed_hosts=allowed_hosts, token=token))

    @app.exception_handler(ValueError)
    def bad_value(request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    return app


def time_bound(value: str | None, *, end: bool = False) -> str | None:
    """A date (``2026-11-28``) or ISO time to the stored timestamp format. A date as an
    upper bound means the end of that day."""
    if not value:
        return None
    value = value.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            if end:
                day += timedelta(days=1)
            return day.isoformat()
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO date or time: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def render_charts(stats: Stats) -> dict[str, Markup]:
    short = {Granularity.MINUTE: 11, Granularity.HOUR: 5, Granularity.DAY: 5}
    cut = short.get(stats.granularity, 0)
    by_start = {b.start: b for b in stats.throughput}
    starts = (
        bucket_starts(stats.throughput[0].start, stats.throughput[-1].start, stats.granularity)
        if stats.throughput else []
    )  # fmt: skip
    throughput = [
        Bar(
            _bucket_label(start, stats.granularity, cut), b.ok, b.error,
            title=f"{start}: {b.ok} ok, {b.error} error",
        )
        for start in starts[-MAX_BARS:]
        for b in [by_start.get(start) or ThroughputBucket(start, 0, 0)]
    ]  # fmt: skip
    latency = [
        Bar("≤" + _ms(bound) if not math.isinf(bound) else ">" + _ms(LATENCY_BOUNDS_MS[-2]), n)
        for bound, n in zip(LATENCY_BOUNDS_MS, stats.latency_counts, strict=True)
    ]
    return {
        "throughput_svg": Markup(
            bar_chart(
                throughput, chart_id="chart-throughput",
                title=f"Records per {stats.granularity.value} (red: errors)",
            )
        ),
        "latency_svg": Markup(
            bar_chart(latency, chart_id="chart-latency", title="Processing time (duration_ms)",
                      colour="#8b5cf6")
        ),
        "labels_svg": Markup(
            hbar_chart(
                [(name, float(n)) for name, n in stats.top_labels],
                chart_id="chart-labels", title="Top labels",
            )
        ),
        "errors_svg": Markup(
            donut(stats.error_rate, chart_id="chart-errors", title="Error rate",
                  caption=f"{stats.errors} of {stats.total} records failed")
        ),
    }  # fmt: skip


def _bucket_label(start: str, granularity: Granularity, cut: int) -> str:
    if granularity is Granularity.HOUR:
        return start[cut:].replace("T", " ") + "h"
    return start[cut:].replace("T", " ")


def _ms(bound: float) -> str:
    return f"{bound / 1000:g}s" if bound >= 1000 else f"{bound:g}ms"


def _status_or_422(value: str | None) -> Status | None:
    if not value:
        return None
    try:
        return Status(value)
    except ValueError:
        raise HTTPException(422, f"status must be ok or error, not {value!r}") from None


def _int_or_422(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise HTTPException(422, f"not a dead-letter id: {value!r}") from None


def _format_epoch(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def findings_summary(findings: dict[str, Any]) -> list[str]:
    """Short lines for the other analyzers' output: "2 faces", "text: STOP, EXIT"."""
    lines: list[str] = []
    for name, value in sorted(findings.items()):
        items = value
        if isinstance(value, dict):
            items = next((v for v in value.values() if isinstance(v, list)), None)
        if isinstance(items, list):
            texts = [
                str(item.get("DetectedText") or item.get("text") or "")
                if isinstance(item, dict) else str(item)
                for item in items
            ]  # fmt: skip
            texts = [t for t in texts if t]
            if name.lower().startswith("text") and texts:
                lines.append(f"text: {', '.join(texts[:4])}" + (" …" if len(texts) > 4 else ""))
            else:
                lines.append(f"{len(items)} {name}")
        elif value not in (None, "", {}):
            lines.append(f"{name}: {str(value)[:60]}")
    return lines
