"""The one path that joins the ports: route → dedup → fetch → analyse → store → notify."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from eventlens.analyzers.base import Analyzer, Findings
from eventlens.errors import Disposition, disposition
from eventlens.events.base import EventKind, ObjectEvent
from eventlens.hooks.base import Hook
from eventlens.imaging import (
    ImageInput,
    looks_like_image_key,
    looks_like_video_key,
)
from eventlens.outcome import Action, Outcome
from eventlens.results.base import ResultStore
from eventlens.results.keep import KEEP
from eventlens.results.record import ISO_FORMAT, Record, Status
from eventlens.routing import Route, Router
from eventlens.settings import Settings
from eventlens.storage.base import ObjectInfo, ObjectStore
from eventlens.workers import map_in_pool

#: the ``source`` of events a user asked for (the dashboard's re-analyse): analysed even when
#: the bytes and the model are unchanged
REQUESTED = "reanalyse"


@dataclass(slots=True)
class _Write:
    """A record write that is not a new analysis (a deletion mark, a refreshed version):
    reported as ``action``, never notified as a failure."""

    record: Record
    action: Action
    reason: str


@dataclass(slots=True)
class _Work:
    event: ObjectEvent
    route: Route
    started: float
    image: ImageInput
    info: ObjectInfo
    sha256: str
    fetch_ms: float
    keep: Any = None  # the stored record's keep decision, carried over (``results.keep``)


class Pipeline:
    def __init__(
        self,
        storage: ObjectStore,
        results: ResultStore,
        analyzers: Mapping[str, Sequence[Analyzer]],
        router: Router | None = None,
        settings: Settings | None = None,
        hooks: Hook | None = None,
    ) -> None:
        """``analyzers`` maps environment → analyzers; the first one supplies the labels.
        ``hooks`` (``eventlens.hooks.Hooks``) see every call's outcomes once written."""
        self.storage = storage
        self.results = results
        self.router = router or Router()
        self.analyzers = {env: list(found) for env, found in analyzers.items()}
        self.settings = settings or Settings()  # max_bytes, max_pixels, branch, ttl_days
        self.hooks = hooks or Hook()

    def model_version(self, environment: str) -> str:
        return ";".join(f"{a.name}={a.model_version}" for a in self._analyzers_for(environment))

    def process(self, event: ObjectEvent, *, force: bool = False) -> Outcome:
        return self.process_batch([event], force=force)[0]

    def process_batch(self, events: Sequence[ObjectEvent], *, force: bool = False) -> list[Outcome]:
        """Process events; one event's failure never affects another's outcome.
        ``force`` re-analyses objects whose bytes and model are unchanged."""
        outcomes: dict[int, Outcome] = {}
        to_store: dict[int, Record | _Write] = {}
        by_env: dict[str, list[tuple[int, _Work]]] = {}
        prepared_all = map_in_pool(lambda e: self._prepare_safely(e, force), events)
        for index, prepared in enumerate(prepared_all):
            if isinstance(prepared, Outcome):
                outcomes[index] = prepared
            elif isinstance(prepared, Record | _Write):
                to_store[index] = prepared
            else:
                by_env.setdefault(prepared.route.environment, []).append((index, prepared))

        for env, items in by_env.items():
            analysed = self._analyze(env, [work for _, work in items])
            for (index, _), result in zip(items, analysed, strict=True):
                if isinstance(result, Outcome):
                    outcomes[index] = result
                else:
                    to_store[index] = result

        indexes = sorted(to_store)
        stored = self._store([(to_store[i], events[i]) for i in indexes])
        outcomes.update(zip(indexes, stored, strict=True))
        ordered = [outcomes[i] for i in range(len(events))]
        self.hooks.after_write(ordered)
        return ordered

    def record_failure(self, event: ObjectEvent, error: str) -> Outcome:
        """Write an error record for an event whose retries are exhausted, and notify; skipped
        for events the pipeline would not analyse, and when the stored record is a good one of
        this object version or a newer one (the store itself refuses older sequencers)."""
        started = time.perf_counter()
        route = self.router.route_for_key(event.key)
        if route is None:
            return Outcome(event, Action.SKIPPED, reason="outside the configured prefixes")
        if event.kind is EventKind.REMOVED or self.media_for(route.environment, event.key) is None:
            return Outcome(event, Action.SKIPPED, reason="a removal or not a media file")
        try:
            existing = self.results.get(route.environment, event.key)
        except Exception as exc:
            return Outcome(event, Action.RETRY, reason=f"store failed: {exc!r}", error=exc)
        if existing is not None and _is_current(existing, event):
            return Outcome(event, Action.SKIPPED, existing, reason="a good record is stored")
        record = self._error_record(event, route, error, started)
        outcome = self._store([(record, event)])[0]
        self.hooks.after_write([outcome])
        return outcome

    # -- steps -------------------------------------------------------------------------------

    def _prepare_safely(self, event: ObjectEvent, force: bool) -> _Work | Record | _Write | Outcome:
        try:
            return self._prepare(event, force)
        except Exception as exc:
            route = self.router.route_for_key(event.key)
            return self._settle(exc, event, route, time.perf_counter(), f"unexpected: {exc!r}")

    def _settle(
        self,
        exc: BaseException,
        event: ObjectEvent,
        route: Route | None,
        started: float,
        retry_reason: str,
        item: _Work | None = None,
    ) -> Record | Outcome:
        """What an error means for its event, decided by its class (``eventlens.errors``):
        an error record, a logged skip, or a retry with ``retry_reason``."""
        decided = disposition(exc)
        if decided is Disposition.RECORD and route is not None:
            return self._error_record(event, route, str(exc), started, item)
        if decided is Disposition.SKIP:
            return Outcome(event, Action.SKIPPED, reason=str(exc))
        return Outcome(event, Action.RETRY, reason=retry_reason, error=exc)

    def _prepare(self, event: ObjectEvent, force: bool) -> _Work | Record | _Write | Outcome:
        started = time.perf_counter()
        force = force or event.source == REQUESTED
        route = self.router.route_for_key(event.key)
        if route is None:
            return Outcome(event, Action.SKIPPED, reason="outside the configured prefixes")
        if event.kind is EventKind.REMOVED:
            if self.storage.exists(event.key) is not True:
                return self._removal(event, route)
            event = replace(event, kind=EventKind.CREATED)  # it is back: a stale removal
        elif event.source == REQUESTED and self.storage.exists(event.key) is False:
            return self._removal(event, route)  # re-analysis asked of an object since deleted
        media = self.media_for(route.environment, event.key)
        if media is None:
            reason = "not an image file extension"
            if looks_like_video_key(event.key):
                reason = "a video, and no video analyzer is enabled for this environment"
            elif looks_like_image_key(event.key):
                reason = "an image, and no image analyzer is enabled for this environment"
            return Outcome(event, Action.SKIPPED, reason=reason)
        existing = self.results.get(route.environment, event.key)
        # the model version last: naming it can wait for a model to open (the person
        # detector's int8 graph names itself once checked), which a new object need not do
        # before it is fetched (a cold start's first image reads it meanwhile)
        if (
            not force
            and existing is not None
            and existing.ok
            and existing.deleted_at is None
            and event.etag is not None
            and existing.etag == event.etag
            and existing.model_version == self.model_version(route.environment)
        ):
            return Outcome(event, Action.UNCHANGED, existing, reason="same object version")
        try:
            data, info = self._fetch(route.environment, media, event.key)
        except Exception as exc:  # too large: a record; gone: a skip; else retried
            return self._settle(exc, event, route, started, f"read failed: {exc}")
        sha256 = hashlib.sha256(data).hexdigest() if data is not None else ""
        if (
            not force
            and existing is not None
            and sha256
            and existing.sha256 == sha256
            and existing.model_version == self.model_version(route.environment)
        ):
            if (existing.etag, existing.deleted_at) == (info.etag, None):
                return Outcome(event, Action.UNCHANGED, existing, reason="same bytes")
            # a new version of the same bytes (touched, copied back, restored): remember it,
            # so the next reconcile need not read the file again
            refreshed = replace(existing, etag=info.etag, deleted_at=None,
                                sequencer=event.sequencer or existing.sequencer)  # fmt: skip
            return _Write(refreshed, Action.UNCHANGED, "same bytes")
        image = ImageInput(
            data or b"", event.key, self.storage.bucket, self.settings.max_pixels,
            environment=route.environment, media=media,
        )  # fmt: skip
        fetch_ms = (time.perf_counter() - started) * 1000
        keep = existing.findings.get(KEEP) if existing and existing.deleted_at is None else None
        return _Work(event, route, started, image, info, sha256, fetch_ms, keep)

    def _removal(self, event: ObjectEvent, route: Route) -> _Write | Outcome:
        """Mark the record of a removed object deleted (kept, but no longer current), and make
        the analyzers forget it first (a deleted image is nobody's original any more); both
        are idempotent, so a failure here is retried as a whole."""
        for analyzer in self._analyzers_for(route.environment):
            analyzer.forget(route.environment, event.key)
        existing = self.results.get(route.environment, event.key)
        if existing is None:
            return Outcome(event, Action.SKIPPED, reason="removed; it had no record")
        if existing.deleted_at is not None:
            return Outcome(event, Action.UNCHANGED, existing, reason="already marked deleted")
        deleted_at = event.event_time.astimezone(UTC).strftime(ISO_FORMAT)
        marked = replace(existing, deleted_at=deleted_at,
                         sequencer=event.sequencer or existing.sequencer)  # fmt: skip
        return _Write(marked, Action.DELETED, "object removed")

    def _fetch(self, environment: str, media: str, key: str) -> tuple[bytes | None, ObjectInfo]:
        """The object's bytes, or None and only its metadata when no analyzer of this media
        reads them (the record's sha256 is then empty)."""
        if any(a.reads_bytes for a in self._analyzers_for(environment) if media in a.media):
            return self.storage.read(key, max_bytes=self.settings.max_bytes)
        return None, self.storage.stat(key)

    def _analyze(self, environment: str, items: list[_Work]) -> list[Record | Outcome]:
        analyzers = self._analyzers_for(environment)
        findings: list[dict[str, Findings]] = [{} for _ in items]
        failures: dict[int, BaseException] = {}
        batch_started = time.perf_counter()
        for analyzer in analyzers:
            pending = [
                i
                for i in range(len(items))
                if i not in failures and items[i].image.media in analyzer.media
            ]
            if not pending:
                continue
            try:
                results = analyzer.analyze_batch([items[i].image for i in pending])
            except Exception as exc:
                results = [exc] * len(pending)
            for i, result in zip(pending, results, strict=True):
                if isinstance(result, BaseException):
                    failures[i] = result
                else:
                    findings[i][analyzer.name] = result
        share_ms = (time.perf_counter() - batch_started) * 1000 / max(1, len(items))
        out: list[Record | Outcome] = []
        for i, item in enumerate(items):
            try:
                if i in failures:
                    raise failures[i]  # an analyzer's error: settled below like the record's own
                out.append(self._ok_record(item, analyzers, findings[i], share_ms))
            except Exception as exc:
                reason = f"analysis: {exc!r}"
                out.append(self._settle(exc, item.event, item.route, item.started, reason, item))
        return out

    def _ok_record(
        self,
        item: _Work,
        analyzers: list[Analyzer],
        findings: dict[str, Findings],
        share_ms: float,
    ) -> Record:
        # the first analyzer that accepts this media kind supplies the labels
        primary = next(a for a in analyzers if item.image.media in a.media)
        record = self._base_record(item.event, item.route, item)
        record.labels = primary.record_labels(findings[primary.name])
        record.label_count = len(record.labels)
        record.analysis_method = primary.method
        # an image's labels are the record's labels; a video's timestamped labels are kept whole
        record.findings = {
            name: f
            for name, f in findings.items()
            if name != primary.name or item.image.media != "image"
        }
        if item.image.media == "image":
            record.width, record.height = item.image.dimensions()
            photo = item.image.photo_info()
            record.captured_at = photo.captured_at
            if photo.details():
                record.findings["exif"] = photo.details()
        else:
            meta = findings[primary.name].get("VideoMetadata", {})
            record.width, record.height = meta.get("FrameWidth"), meta.get("FrameHeight")
        record.duration_ms = round(item.fetch_ms + share_ms, 3)
        if item.keep is not None:  # a user's decision outlives an analysis
            record.findings[KEEP] = item.keep
        return record

    def _error_record(
        self,
        event: ObjectEvent,
        route: Route,
        error: str,
        started: float,
        item: _Work | None = None,
    ) -> Record:
        record = self._base_record(event, route, item)
        record.status = Status.ERROR
        record.error = error
        record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
        return record

    def _base_record(self, event: ObjectEvent, route: Route, item: _Work | None) -> Record:
        info = item.info if item else None
        metadata = dict(event.metadata)
        if info:
            metadata.update(info.metadata)
        record = Record(
            filename=event.key,
            environment=route.environment,
            branch=metadata.get("branch", self.settings.branch),
            s3_bucket=event.bucket or self.storage.bucket,
            sha256=item.sha256 if item else "",
            size=info.size if info else (event.size or 0),
            model_version=self.model_version(route.environment),
            etag=info.etag if info else event.etag,
            sequencer=(info.sequencer if info and info.sequencer else event.sequencer),
            metadata=metadata,
        )
        if self.settings.ttl_days > 0:
            record.expires_at = int(time.time()) + self.settings.ttl_days * 86400
        return record

    def _store(self, items: list[tuple[Record | _Write, ObjectEvent]]) -> list[Outcome]:
        if not items:
            return []
        records = [item.record if isinstance(item, _Write) else item for item, _ in items]
        try:
            written = self.results.put_many(records)
        except Exception as exc:
            return [
                Outcome(e, Action.RETRY, reason=f"store failed: {exc!r}", error=exc)
                for _, e in items
            ]
        outcomes = []
        for (item, event), record, ok in zip(items, records, written, strict=True):
            if not ok:
                outcomes.append(Outcome(event, Action.SKIPPED, reason="a newer version is stored"))
            elif isinstance(item, _Write):
                outcomes.append(Outcome(event, item.action, record, reason=item.reason))
            elif record.ok:
                outcomes.append(Outcome(event, Action.STORED, record))
            else:
                outcomes.append(Outcome(event, Action.FAILED, record, reason=record.error or ""))
        return outcomes

    def media_for(self, environment: str, key: str) -> str | None:
        """``image`` or ``video`` by extension, when an analyzer of the environment takes that
        kind of media; else None (the object is skipped)."""
        media = (
            "image" if looks_like_image_key(key) else "video" if looks_like_video_key(key) else None
        )
        if media and any(media in a.media for a in self._analyzers_for(environment)):
            return media
        return None

    def _analyzers_for(self, environment: str) -> list[Analyzer]:
        found = self.analyzers.get(environment) or self.analyzers.get("*")
        if not found:
            raise KeyError(f"no analyzers configured for environment {environment!r}")
        return found


def _is_current(record: Record, event: ObjectEvent) -> bool:
    """Whether ``record`` is a good result of ``event``'s object version or a newer one: the
    same ETag, or written after the event happened (so it describes those bytes or newer ones;
    this also covers events without a sequencer, which the store cannot order)."""
    if not record.ok:
        return False
    if event.etag is not None and record.etag == event.etag:
        return True
    try:
        written = datetime.fromisoformat(record.timestamp)
    except ValueError:
        return False
    return written.tzinfo is not None and written >= event.event_time
