"""Gemini ``generateContent`` fields shared by the body and stream translators.

Usage: ``promptTokenCount`` includes ``cachedContentTokenCount``; ``toolUsePromptTokenCount``
is input outside it; ``candidatesTokenCount`` excludes ``thoughtsTokenCount``. Gemini has
no cache-write field: cache writes stay inside ``promptTokenCount``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from .common import usage_of
from .ir import ErrorKind, FinishReason, TokenUsage

__all__ = [
    "error_status",
    "finish_from_gemini",
    "finish_to_gemini",
    "gemini_usage",
    "gget",
    "json_schema_of",
    "usage_from_gemini",
]

_FINISH_IN: Final[dict[str, FinishReason]] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
}
_FINISH_OUT: Final[dict[FinishReason, str]] = {
    "stop": "STOP",
    "stop_sequence": "STOP",
    "tool_calls": "STOP",
    "pause": "STOP",
    "length": "MAX_TOKENS",
    "content_filter": "SAFETY",
    "error": "OTHER",
    "other": "OTHER",
}
_STATUS: Final[dict[ErrorKind, str]] = {
    "invalid_request": "INVALID_ARGUMENT",
    "authentication": "UNAUTHENTICATED",
    "permission": "PERMISSION_DENIED",
    "not_found": "NOT_FOUND",
    "request_too_large": "INVALID_ARGUMENT",
    "rate_limit": "RESOURCE_EXHAUSTED",
    "overloaded": "UNAVAILABLE",
    "server": "INTERNAL",
}
_CAMEL = re.compile(r"_([a-z])")


def gget(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` under its camelCase or snake_case name (both are valid Gemini JSON)."""
    if not isinstance(obj, Mapping):
        return default
    if key in obj:
        return obj[key]
    snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), key)
    return obj.get(snake, default)


def camel(key: str) -> str:
    return _CAMEL.sub(lambda m: m.group(1).upper(), key)


def finish_from_gemini(value: Any) -> FinishReason | None:
    if value is None or value == "FINISH_REASON_UNSPECIFIED":
        return None
    return _FINISH_IN.get(str(value), "other")


def finish_to_gemini(reason: FinishReason | None) -> str | None:
    return None if reason is None else _FINISH_OUT[reason]


def error_status(kind: ErrorKind) -> str:
    return _STATUS[kind]


def usage_from_gemini(meta: Any) -> TokenUsage | None:
    if not isinstance(meta, Mapping):
        return None
    prompt = gget(meta, "promptTokenCount") or 0
    tool_prompt = gget(meta, "toolUsePromptTokenCount") or 0
    candidates = gget(meta, "candidatesTokenCount") or 0
    thoughts = gget(meta, "thoughtsTokenCount") or 0
    ints = [
        v if isinstance(v, int) and not isinstance(v, bool) else 0 for v in (prompt, tool_prompt, candidates, thoughts)
    ]
    return usage_of(
        input_tokens=ints[0] + ints[1],
        output_tokens=ints[2] + ints[3],
        cached=gget(meta, "cachedContentTokenCount") or 0,
        reasoning=ints[3],
    )


def gemini_usage(usage: TokenUsage) -> dict[str, Any]:
    """``usage`` as ``usageMetadata``."""
    out: dict[str, Any] = {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": usage.visible_output_tokens,
        "totalTokenCount": usage.input_tokens + usage.output_tokens,
    }
    if usage.cached_input_tokens:
        out["cachedContentTokenCount"] = usage.cached_input_tokens
    if usage.reasoning_tokens:
        out["thoughtsTokenCount"] = usage.reasoning_tokens
    return out


def json_schema_of(schema: Any) -> Any:
    """A Gemini (OpenAPI-subset) schema as JSON Schema: lower-case types, ``nullable`` as a type union."""
    if isinstance(schema, list):
        return [json_schema_of(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        name = camel(key)
        if name == "propertyOrdering":
            continue
        if name == "type" and isinstance(value, str):
            out["type"] = value.lower()
        elif name in ("properties", "defs", "$defs") and isinstance(value, Mapping):
            out[name] = {k: json_schema_of(v) for k, v in value.items()}
        elif name in ("items", "anyOf", "oneOf", "allOf", "not", "additionalProperties"):
            out[name] = json_schema_of(value)
        elif name != "nullable":
            out[name] = value
    if gget(schema, "nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out
