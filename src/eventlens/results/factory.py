"""Open the results store a command asks for: ``sqlite`` (embedded) or ``dynamodb`` (AWS)."""

from __future__ import annotations

from enum import StrEnum

from eventlens.results.base import ResultStore
from eventlens.settings import Settings


class Backend(StrEnum):
    SQLITE = "sqlite"
    DYNAMODB = "dynamodb"


def open_store(
    backend: Backend,
    settings: Settings,
    *,
    tables: dict[str, str] | None = None,
    read_only: bool = False,
) -> ResultStore:
    """``tables`` overrides environment → table (e.g. ``{"beta": "beta_results"}``);
    ``read_only`` (SQLite) never creates or changes anything in the file."""
    mapping = settings.tables | (tables or {})
    if backend is Backend.SQLITE:
        from eventlens.results.sqlite import SQLiteResultStore

        if not settings.db_path.exists():
            raise FileNotFoundError(
                f"no results database at {settings.db_path} (run `eventlens run` first, "
                "or pass --root/--db)"
            )
        return SQLiteResultStore(settings.db_path, mapping, read_only=read_only)
    from eventlens.results.dynamodb import DynamoDBResultStore

    return DynamoDBResultStore(mapping)
