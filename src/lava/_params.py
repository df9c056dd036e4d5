"""Encoding of query parameters and path segments, exactly as the Node SDK does it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote

__all__ = ["encode_metadata_filters", "encode_timestamp", "path_segment"]


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
