"""Small helpers the format modules share: JSON values, data URLs, SSE frames, error kinds."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

import orjson

from .base import Untranslatable
from .ir import ErrorKind, Image, TokenUsage

__all__ = [
    "DEFAULT_STATUS",
    "data_url",
    "dumps",
    "error_kind",
    "image_from_url",
    "int_field",
    "json_object",
    "loads_object",
    "num_field",
    "put_present",
    "sse_frame",
    "str_field",
    "usage_of",
]

_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+)?(?:;[^,;]*)*;base64,(.*)", re.DOTALL)

DEFAULT_STATUS: dict[ErrorKind, int] = {
    "invalid_request": 400,
    "authentication": 401,
    "permission": 403,
    "not_found": 404,
    "request_too_large": 413,
    "rate_limit": 429,
    "overloaded": 529,
    "server": 500,
}


def error_kind(status: int) -> ErrorKind:
    """The error kind an HTTP status stands for."""
    if status == 401:
        return "authentication"
    if status == 403:
        return "permission"
    if status == 404:
        return "not_found"
    if status == 413:
        return "request_too_large"
    if status == 429:
        return "rate_limit"
    if status in (503, 529):
        return "overloaded"
    if status >= 500:
        return "server"
    return "invalid_request"


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def sse_frame(data: Any, event: str | None = None) -> bytes:
    """One SSE event: ``event:`` line if named, one ``data:`` line of compact JSON (or text)."""
    payload = data if isinstance(data, bytes) else dumps(data)
    head = b"event: " + event.encode() + b"\n" if event else b""
    return head + b"data: " + payload + b"\n\n"


def loads_object(text: str | bytes) -> dict[str, Any] | None:
    """A JSON object, or None for anything else (invalid JSON, arrays, scalars)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def json_object(arguments: str, where: str) -> dict[str, Any]:
    """Tool-call arguments (JSON text) as an object, for formats that carry objects."""
    if not arguments.strip():
        return {}
    value = loads_object(arguments)
    if value is None:
        raise Untranslatable(where, "tool-call arguments are not a JSON object")
    return value


def str_field(obj: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise Untranslatable(f"{where}{key}", "required")
        return None
    if not isinstance(value, str):
        raise Untranslatable(f"{where}{key}", "must be a string")
    return value


def int_field(obj: Mapping[str, Any], key: str, where: str = "") -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise Untranslatable(f"{where}{key}", "must be an integer")
    return value


def num_field(obj: Mapping[str, Any], key: str, where: str = "") -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Untranslatable(f"{where}{key}", "must be a number")
    return float(value)


def put_present(target: MutableMapping[str, Any], pairs: Iterable[tuple[str, Any]]) -> None:
    """Copy each ``(key, value)`` of ``pairs`` into ``target``, skipping values that are ``None``."""
    for key, value in pairs:
        if value is not None:
            target[key] = value


def image_from_url(url: str) -> Image:
    """``data:<type>;base64,<data>`` becomes an inline image; anything else stays a URL."""
    match = _DATA_URL.fullmatch(url)
    if match is not None:
        return Image(media_type=match.group(1) or "image/png", data=match.group(2))
    return Image(media_type=None, url=url)


def data_url(image: Image) -> str:
    if image.data is not None:
        return f"data:{image.media_type or 'image/png'};base64,{image.data}"
    assert image.url is not None
    return image.url


def _count(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float) and value.is_integer():
        return max(int(value), 0)
    return 0


def usage_of(
    *, input_tokens: Any, output_tokens: Any, cached: Any = 0, cache_write: Any = 0, reasoning: Any = 0
) -> TokenUsage:
    """A :class:`TokenUsage` from raw provider numbers (non-integers count as 0)."""
    return TokenUsage(
        input_tokens=_count(input_tokens),
        output_tokens=_count(output_tokens),
        cached_input_tokens=_count(cached),
        cache_write_tokens=_count(cache_write),
        reasoning_tokens=_count(reasoning),
    )
