"""Request metadata from ``x-lava-metadata`` (JSON object), ``X-Lava-Metadata-<Key>`` headers
and the ``metadata=`` query parameter, validated against the limits in docs/limits.md (400 on violation)."""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from ..billing.plans import METADATA_KEY_RE as KEY_RE
from ..billing.plans import METADATA_MAX_PAIRS as MAX_PAIRS
from ..billing.plans import METADATA_MAX_VALUE as MAX_VALUE
from ..errors import ApiError

HEADER_PREFIX = "x-lava-metadata-"


def _bad(message: str) -> ApiError:
    return ApiError(400, "invalid_metadata", message)


def _merge_json(target: dict[str, str], raw: str, source: str) -> None:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _bad(f"{source} must be a JSON object of string values") from exc
    if not isinstance(data, dict):
        raise _bad(f"{source} must be a JSON object of string values")
    for key, value in data.items():
        target[key] = value


def collect_metadata(raw_headers: Iterable[tuple[bytes, bytes]], query_value: str | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for name_b, value_b in raw_headers:
        name = name_b.decode("latin-1")
        lower = name.lower()
        if lower == "x-lava-metadata":
            _merge_json(found, value_b.decode("utf-8", "replace"), "x-lava-metadata")
        elif lower.startswith(HEADER_PREFIX):
            found[name[len(HEADER_PREFIX) :]] = value_b.decode("utf-8", "replace")
    if query_value:
        _merge_json(found, query_value, "metadata")
    if len(found) > MAX_PAIRS:
        raise _bad(f"at most {MAX_PAIRS} metadata pairs")
    for key, value in found.items():
        if not isinstance(key, str) or not KEY_RE.match(key):
            raise _bad(f"metadata key {key!r} must match [A-Za-z0-9_]{{1,255}}")
        if not isinstance(value, str) or not (1 <= len(value) <= MAX_VALUE):
            raise _bad(f"metadata value for {key!r} must be a string of 1..{MAX_VALUE} characters")
    return found
