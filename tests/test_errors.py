"""Every error class of eventlens says what it means: record, skip or retry."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from eventlens.errors import Disposition, Permanent, Skip, Transient, disposition
from eventlens.imaging import ImageRejected
from eventlens.storage.base import ObjectTooLarge, ObjectUnavailable
from eventlens.storage.s3 import TransientStorageError

SRC = Path(__file__).resolve().parent.parent / "src"


def error_classes() -> list[type[BaseException]]:
    found = []
    for path in sorted((SRC / "eventlens").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
        if not names:
            continue
        module_name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        module_name = module_name.removesuffix(".__init__")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:  # an optional extra that is not installed
            pytest.skip(f"{module_name}: {exc}")
        for name in names:
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, BaseException):
                found.append(value)
    return found


def test_every_error_class_derives_from_one_base() -> None:
    classes = error_classes()
    assert len(classes) >= 15
    bases = (Permanent, Skip, Transient)
    strays = [c.__qualname__ for c in classes if c not in bases and not issubclass(c, bases)]
    assert strays == []
    mixed = [c.__qualname__ for c in classes if sum(issubclass(c, b) for b in bases) > 1]
    assert mixed == []


def test_the_pipeline_decides_by_class() -> None:
    assert disposition(ImageRejected("corrupt")) is Disposition.RECORD
    assert disposition(ObjectTooLarge("file too large")) is Disposition.RECORD
    assert disposition(ObjectUnavailable("gone")) is Disposition.SKIP
    assert disposition(TransientStorageError("throttled")) is Disposition.RETRY
    assert disposition(OSError("disk")) is Disposition.RETRY  # not ours: retried
    assert disposition(ZeroDivisionError()) is Disposition.RETRY
