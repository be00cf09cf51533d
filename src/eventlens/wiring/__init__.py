"""Assemble eventlens from its settings: the stores, the analyzers and the hooks of the embedded
mode (a folder + SQLite) and of AWS (S3 + DynamoDB + SNS). The edges (``cli``, ``web``,
``aws``) call these; nothing below them decides which adapter to use. The embedded app (runner,
intake queue, folder watcher) is assembled in ``eventlens.wiring.local``.

Adapters are imported where they are chosen: a Lambda package carries only what its analyzers
and stores need (no watchdog, no numpy for Rekognition alone)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from eventlens.analyzers import registry
from eventlens.analyzers.base import Analyzer
from eventlens.hooks.base import Hooks
from eventlens.hooks.notify import LogNotifier, Notifier
from eventlens.results.base import ResultStore
from eventlens.settings import Mode, Settings

if TYPE_CHECKING:
    from eventlens.face_people import PeopleIndex, PeopleStore
    from eventlens.image_hashes import HashIndex


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

    from eventlens.results.sqlite import SQLiteResultStore

    return SQLiteResultStore(settings.db_path, mapping, read_only=read_only)


def hash_index_for(settings: Settings) -> HashIndex:
    """Where the duplicates analyzer looks earlier images up: a table next to the SQLite
    results, or the environment's DynamoDB hash table."""
    if settings.mode is Mode.AWS:
        from eventlens.results.dynamodb_hashes import DynamoDBHashIndex

        DynamoDBHashIndex.check_distance(settings.duplicate_max_distance)
        return DynamoDBHashIndex({settings.environment: settings.hash_table})

    from eventlens.results.hash_index import SQLiteHashIndex

    return SQLiteHashIndex(settings.db_path)


def people_index_for(
    settings: Settings,
    backend: Backend | None = None,
    *,
    tables: dict[str, str] | None = None,
    collections: dict[str, str] | None = None,
) -> PeopleStore:
    """Where faces and people are kept: tables next to the SQLite results (embedded mode), or
    the environment's DynamoDB people table (AWS; ``tables`` overrides environment → table),
    with its Rekognition face collection when ``rekognition-faces`` is the face analyzer
    (``collections``: environment → collection, for the CLI)."""
    backend = backend or (Backend.DYNAMODB if settings.mode is Mode.AWS else Backend.SQLITE)
    if backend is Backend.DYNAMODB:
        from eventlens.results.people_dynamodb import DynamoDBPeopleIndex

        mapping = tables or {settings.environment: settings.people_table_name}
        if collections is None and settings.uses_face_collection:
            collections = {settings.environment: settings.people_collection_name}
        if collections:
            from eventlens.results.people_rekognition import RekognitionPeopleIndex

            return RekognitionPeopleIndex(
                mapping, collections, threshold=settings.people_similarity
            )
        return DynamoDBPeopleIndex(mapping, threshold=settings.people_threshold)
    from eventlens.results.people_sqlite import SQLitePeopleIndex

    return SQLitePeopleIndex(settings.db_path, threshold=settings.people_threshold)


def build_analyzers(
    settings: Settings,
    *,
    threads: int | None = None,
    hash_index: HashIndex | None = None,
    people_index: PeopleIndex | None = None,
) -> dict[str, list[Analyzer]]:
    """Each environment's analyzers (shared instances); AWS mode: its one environment's."""
    if settings.mode is Mode.AWS:
        per_env = {settings.environment: settings.analyzer_names}
    else:
        per_env = settings.analyzers_by_environment()
    if hash_index is None and any("duplicates" in names for names in per_env.values()):
        hash_index = hash_index_for(settings)
    if people_index is None and any("people" in names for names in per_env.values()):
        people_index = people_index_for(settings)
    context = registry.AnalyzerContext(
        settings, threads=threads, hash_index=hash_index, people_index=people_index
    )
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
