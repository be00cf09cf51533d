"""Assemble eventlens from its settings: the stores, the analyzers and the hooks of the embedded
mode (a folder + SQLite) and of AWS (S3 + DynamoDB + SNS). The edges (``cli``, ``web``,
``aws``) call these; nothing below them decides which adapter to use."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from eventlens.analyzers import registry
from eventlens.analyzers.base import Analyzer
from eventlens.health import Health, status_dir_for
from eventlens.hooks.audit import AuditLog
from eventlens.hooks.base import Hook, Hooks
from eventlens.hooks.notify import LogNotifier, Notifier
from eventlens.image_hashes import HashIndex
from eventlens.intake import IntakeQueue
from eventlens.pipeline import Pipeline
from eventlens.results.base import ResultStore
from eventlens.results.hash_index import SQLiteHashIndex
from eventlens.results.sqlite import SQLiteResultStore
from eventlens.retry import RetryPolicy
from eventlens.runner import LocalRunner
from eventlens.settings import Mode, Settings
from eventlens.storage.local import LocalFolderStore
from eventlens.workers import worker_count


class Backend(StrEnum):
    SQLITE = "sqlite"
    DYNAMODB = "dynamodb"


def open_results(
    settings: Settings,
    backend: Backend | None = None,
    *,
    tables: dict[str, str] | None = None,
    read_only: bool = False,
    must_exist: bool = False,
) -> ResultStore:
    """The results store: SQLite (the embedded default) or DynamoDB (AWS mode's). ``tables``
    overrides environment → table; ``read_only`` (SQLite) never creates or changes anything;
    ``must_exist``: a missing SQLite file is a FileNotFoundError, not a new database."""
    backend = backend or (Backend.DYNAMODB if settings.mode is Mode.AWS else Backend.SQLITE)
    mapping = settings.tables | (tables or {})
    if backend is Backend.DYNAMODB:
        from eventlens.results.dynamodb import DynamoDBResultStore

        return DynamoDBResultStore(mapping)
    if must_exist and not settings.db_path.exists():
        raise FileNotFoundError(
            f"no results database at {settings.db_path} (run `eventlens run` first, "
            "or pass --root/--db)"
        )
    return SQLiteResultStore(settings.db_path, mapping, read_only=read_only)


def hash_index_for(settings: Settings) -> HashIndex:
    """Where the duplicates analyzer looks earlier images up: a table next to the SQLite
    results, or the environment's DynamoDB hash table."""
    if settings.mode is Mode.AWS:
        from eventlens.results.dynamodb_hashes import DynamoDBHashIndex

        DynamoDBHashIndex.check_distance(settings.duplicate_max_distance)
        return DynamoDBHashIndex({settings.environment: settings.hash_table})
    return SQLiteHashIndex(settings.db_path)


def build_analyzers(
    settings: Settings, *, threads: int | None = None, hash_index: HashIndex | None = None
) -> dict[str, list[Analyzer]]:
    """Each environment's analyzers (shared instances); AWS mode: its one environment's."""
    if settings.mode is Mode.AWS:
        per_env = {settings.environment: settings.analyzer_names}
    else:
        per_env = settings.analyzers_by_environment()
    if hash_index is None and any("duplicates" in names for names in per_env.values()):
        hash_index = hash_index_for(settings)
    context = registry.AnalyzerContext(settings, threads=threads, hash_index=hash_index)
    return registry.build(per_env, context)


def notifier_for(settings: Settings) -> Notifier:
    """Failure notices: a webhook (embedded) or SNS (AWS) when configured, else the log."""
    if settings.mode is Mode.LOCAL and settings.webhook_url:
        from eventlens.hooks.webhook import WebhookNotifier

        return WebhookNotifier(settings.webhook_url)
    if settings.mode is Mode.AWS and settings.failure_topic_arn:
        from eventlens.hooks.sns import SnsNotifier

        return SnsNotifier(settings.failure_topic_arn)
    return LogNotifier()


def aws_hooks(settings: Settings) -> Hooks:
    """AWS: failure notices, and a log line per outcome plus metrics per batch."""
    from eventlens.hooks.powertools import OutcomeLogsAndMetrics

    return Hooks([notifier_for(settings), OutcomeLogsAndMetrics()])


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

    def close(self) -> None:
        self.hooks.close()
        self.queue.close()
        self.results.close()
        if self.hash_index is not None:
            self.hash_index.close()


def build_local_app(settings: Settings, notifier: Notifier | None = None) -> LocalApp:
    """The embedded mode: folder, SQLite results and intake queue, analyzers, hooks (failure
    notices, the audit log), the supervised runner."""
    notifier = notifier or notifier_for(settings)
    settings.root.mkdir(parents=True, exist_ok=True)
    storage = LocalFolderStore(settings.root)
    results = SQLiteResultStore(settings.db_path, settings.tables)
    queue = IntakeQueue(settings.db_path, retry=RetryPolicy(max_attempts=settings.max_attempts))
    hash_index = None
    if any("duplicates" in names for names in settings.analyzers_by_environment().values()):
        hash_index = SQLiteHashIndex(settings.db_path)  # a table next to the results
    # the runner keeps one batch per core in flight: one model thread each uses the cores
    # without the threads of two batches contending (measured ~3 % faster)
    threads = 1 if worker_count() > 1 else None
    analyzers = build_analyzers(settings, threads=threads, hash_index=hash_index)
    hooks: list[Hook] = [notifier]
    if settings.audit_log:
        hooks.append(AuditLog(settings.audit_log))
    pipeline = Pipeline(
        storage, results, analyzers, router=settings.router, settings=settings, hooks=Hooks(hooks)
    )
    health = Health(status_dir_for(settings.db_path), give_up_after_s=settings.give_up_after_s)
    runner = LocalRunner(
        pipeline, queue, storage, settings.router, batch_size=settings.batch_size,
        lanes=worker_count(), health=health,
    )  # fmt: skip
    return LocalApp(
        settings, storage, results, queue, pipeline, runner, notifier, health, pipeline.hooks,
        hash_index,
    )  # fmt: skip
