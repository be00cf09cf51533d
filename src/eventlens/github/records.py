"""Reading result records for the report (the CLI builds readers on the results store port)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

RecordReader = Callable[[str], Mapping[str, Any] | None]


def read_all(reader: RecordReader, keys: list[str]) -> list[tuple[str, Mapping[str, Any] | None]]:
    return [(key, reader(key)) for key in keys]
