"""Encoding of query parameters and path segments, exactly as the Node SDK does it."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal
from urllib.parse import quote

__all__ = [
    "NOT_GIVEN",
    "Money",
    "NotGiven",
    "encode_metadata_filters",
    "encode_money",
    "encode_timestamp",
    "given",
    "path_segment",
]


class NotGiven(enum.Enum):
    """The type of :data:`NOT_GIVEN`: "this argument was not passed", as opposed to ``None`` (JSON null)."""

    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> Literal[False]:
        return False


NOT_GIVEN: Final = NotGiven.NOT_GIVEN
"""Default of arguments where ``None`` has a meaning of its own (clear a field, or a JSON ``null``)."""

Money = str | Decimal | int
"""USD amounts the SDK sends: a decimal string, a ``Decimal`` or an ``int`` (never a float)."""


def given(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` without the ``NOT_GIVEN`` entries (``None`` stays: it is sent as JSON null)."""
    return {k: v for k, v in fields.items() if v is not NOT_GIVEN}


def encode_money(value: Money) -> str:
    """A USD amount as the wire's decimal string; floats are refused (they cannot hold money exactly)."""
    if isinstance(value, bool) or not isinstance(value, str | Decimal | int):
        raise TypeError(f"Money must be a str, Decimal or int, not {type(value).__name__}")
    if isinstance(value, str):
        try:
            Decimal(value)
        except ArithmeticError as exc:
            raise ValueError(f"Not a decimal amount: {value!r}") from exc
        return value
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"Not a finite amount: {value!r}")
    return str(value)


def path_segment(value: str) -> str:
    """URL-quote one path segment (an object id)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"Expected a non-empty id string, got {value!r}")
    return quote(value, safe="")


def encode_metadata_filters(filters: Mapping[str, str] | None) -> str | None:
    """``{"team": "a"}`` → ``[["team","a"]]`` (Node: ``JSON.stringify(Object.entries(obj))``)."""
    if filters is None:
        return None
    return json.dumps([[k, v] for k, v in filters.items()], separators=(",", ":"), ensure_ascii=False)


def encode_timestamp(value: str | datetime | None) -> str | None:
    """A string passes through; a datetime must be timezone-aware and becomes ISO 8601 with its offset."""
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, datetime):
        raise TypeError(f"Expected str or datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("Naive datetime: pass a timezone-aware datetime (its UTC offset sets the day boundaries)")
    return value.isoformat()
