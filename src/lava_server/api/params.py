"""Parsing and validating query and body parameters into typed values (400 on bad input)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from ..errors import invalid_request
from ..ids import id_pattern

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_FILTER_PAIRS = 100
METADATA_KEY_RE = re.compile(r"^[A-Za-z0-9_]{1,255}$")


def limit_param(query: Mapping[str, str]) -> int:
    raw = query.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or not (1 <= int(raw) <= MAX_LIMIT):
        raise invalid_request(f"limit must be an integer between 1 and {MAX_LIMIT}")
    return int(raw)


def cursor_param(query: Mapping[str, str], prefix: str) -> str | None:
    raw = query.get("cursor")
    if raw is None or raw == "":
        return None
    if not id_pattern(prefix).match(raw):
        raise invalid_request("cursor is not valid: pass next_cursor from the previous page unchanged")
    return raw


def optional_str(data: Mapping[str, Any], name: str, max_len: int = 255) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid_request(f"{name} must be a string")
    if len(value) > max_len:
        raise invalid_request(f"{name} must be at most {max_len} characters")
    return value


def id_param(value: str | None, prefix: str, name: str) -> str | None:
    """An object id filter; an id of the wrong shape can match nothing, so it is a 400."""
    if value is None or value == "":
        return None
    if not id_pattern(prefix).match(value):
        raise invalid_request(f"{name} is not a valid {prefix}_… id")
    return value


def metadata_filters_param(query: Mapping[str, str]) -> list[tuple[str, str]]:
    """``metadata_filters=[["k","v"],…]`` (JSON list of pairs, as the Node SDK sends it)."""
    raw = query.get("metadata_filters")
    if raw is None or raw == "":
        return []
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid_request(
            'metadata_filters must be a JSON list of [key, value] pairs, e.g. [["user","1"]]'
        ) from exc
    if isinstance(data, dict):
        data = list(data.items())
    if not isinstance(data, list) or len(data) > MAX_FILTER_PAIRS:
        raise invalid_request(f"metadata_filters must be a JSON list of at most {MAX_FILTER_PAIRS} pairs")
    pairs: list[tuple[str, str]] = []
    for item in data:
        if (
            not isinstance(item, list | tuple)
            or len(item) != 2
            or not isinstance(item[0], str)
            or not isinstance(item[1], str)
        ):
            raise invalid_request("each metadata filter must be a [key, value] pair of strings")
        if not METADATA_KEY_RE.match(item[0]) or not (1 <= len(item[1]) <= 255):
            raise invalid_request("metadata filter keys are [A-Za-z0-9_]{1,255} and values 1..255 characters")
        pairs.append((item[0], item[1]))
    return pairs
