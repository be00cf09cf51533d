"""The embedded mode assembled: folder, SQLite results and intake queue, analyzers, hooks
(failure notices, the audit log) and the supervised runner."""

from __future__ import annotations

from dataclasses import dataclass

from eventlens.db import Checkpointer
from eventlens.health import Health, status_dir_for
from eventlens.hooks.audit import AuditLog
from eventlens.hooks.base import Hook, Hooks
from eventlens.hooks.notify import Notifier
from eventlens.intake import IntakeQueue
from eventlens.pipeline import Pipeline
from eventlens.results.hash_index import SQLiteHashIndex
from eventlens.results.people_sqlite import SQLitePeopleIndex
from eventlens.results.sqlite import SQLiteResultStore
from eventlens.retry import RetryPolicy
from eventlens.runner import LocalRunner
from eventlens.settings import Settings
from eventlens.storage.local import LocalFolderStore
from eventlens.wiring import build_analyzers, notifier_for
from eventlens.workers import worker_count


@dataclass(slots=True)
class LocalApp:
    settings: Settings
    storage: LocalFolderStore
    results: SQLiteResultStore
    queue: IntakeQueue
    pipeline: Pipeline
    runner: LocalRunner
    notifier: Notifier
    health: Health
    hooks: Hook
    hash_index: SQLiteHashIndex | None = None
    people_index: SQLitePeopleIndex | None = None
    checkpointer: Checkpointer | None = None

    def close(self) -> None:
        self.hooks.close()
        if self.checkpointer is not None:
            self.checkpointer.close()
        self.queue.close()
        self.results.close()
        if self.hash_index is not None:
            self.hash_index.close()
        if self.people_index is not None:
            self.people_index.close()


def build_local_app(settings: Settings, notifier: Notifier | None = None) -> LocalApp:
    notifier = notifier or notifier_for(settings)
    settings.root.mkdir(parents=True, exist_ok=True)
    storage = LocalFolderStore(settings.root)
    results = SQLiteResultStore(settings.db_path, settings.tables)
    queue = IntakeQueue(settings.db_path, retry=RetryPolicy(max_attempts=settings.max_attempts))
    hash_index = None
    if any("duplicates" in names for names in settings.analyzers_by_environment().values()):
        hash_index = SQLiteHashIndex(settings.db_path)  # a table next to the results
    people_index = None
    if any("people" in names for names in settings.analyzers_by_environment().values()):
        people_index = SQLitePeopleIndex(settings.db_path, threshold=settings.people_threshold)
    # the runner keeps one batch per core in flight: one model thread each uses the cores
    # without the threads of two batches contending (measured ~3 % faster)
    threads = 1 if worker_count() > 1 else None
    analyzers = build_analyzers(
        settings, threads=threads, hash_index=hash_index, people_index=people_index
    )
    hooks: list[Hook] = [notifier]
    if settings.audit_log:
        hooks.append(AuditLog(settings.audit_log))
    pipeline = Pipeline(
        storage, results, analyzers, router=settings.router, settings=settings, hooks=Hooks(hooks)
    )
    health = Health(status_dir_for(settings.db_path), give_up_after_s=settings.give_up_after_s)
    checkpointer = Checkpointer(settings.db_path)
    runner = LocalRunner(
        pipeline, queue, storage, settings.router, batch_size=settings.batch_size,
        watch_batch_size=settings.watch_batch_size,
        lanes=worker_count(), health=health, reanalyse_on_change=settings.reanalyse_on_change,
        fallback_scan_s=settings.fallback_scan_s, checkpoint=checkpointer,
    )  # fmt: skip
    return LocalApp(
        settings, storage, results, queue, pipeline, runner, notifier, health, pipeline.hooks,
        hash_index, people_index, checkpointer,
    )  # fmt: skip
