"""DynamoDB attribute values (``{"S": ...}``, ``{"N": ...}``, ...) to and from Python, as
boto3's ``TypeSerializer`` / ``TypeDeserializer`` make them for the values a record holds
(``dynamodb.to_dynamodb``'s: None, bool, int, Decimal, str, maps and lists), without
importing boto3: the results store talks to botocore's client directly, and a Lambda cold
start does not pay for boto3's import (``eventlens.aws_clients``). tests/test_aws_stores.py
checks both directions against boto3's classes."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

#: DynamoDB's numbers: 38 digits, exponents -128..126; anything else raises (as boto3's)
NUMBERS = Context(
    Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
)


def serialize(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value; floats, sets and other types raise
    ``TypeError`` (``to_dynamodb`` makes floats Decimal first)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        number = str(NUMBERS.create_decimal(value))
        if number in ("Infinity", "NaN"):
            raise TypeError("Infinity and NaN not supported")
        return {"N": number}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Mapping):
        return {"M": {k: serialize(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(v) for v in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def deserialize(value: Mapping[str, Any]) -> Any:
    """A DynamoDB attribute value as Python: numbers as Decimal, binary as bytes, sets as
    sets."""
    if not value:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind, data = next(iter(value.items()))
    if kind == "S" or kind == "BOOL" or kind == "B":
        return data
    if kind == "N":
        return NUMBERS.create_decimal(data)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: deserialize(v) for k, v in data.items()}
    if kind == "L":
        return [deserialize(v) for v in data]
    if kind == "SS" or kind == "BS":
        return set(data)
    if kind == "NS":
        return {NUMBERS.create_decimal(n) for n in data}
    raise TypeError(f"Dynamodb type {kind} is not supported")
