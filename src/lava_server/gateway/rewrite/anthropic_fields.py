"""Anthropic Messages fields shared by the body and stream translators: stop reasons, usage, errors.

Usage: Anthropic's ``input_tokens`` excludes cache reads (``cache_read_input_tokens``) and
cache writes (``cache_creation_input_tokens``); ``output_tokens`` includes thinking.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .common import loads_object, usage_of
from .ir import ErrorKind, FinishReason, TokenUsage

__all__ = [
    "anthropic_usage",
    "error_kind_from_type",
    "error_type",
    "finish_from_anthropic",
    "finish_to_anthropic",
    "lenient_object",
    "usage_from_anthropic",
]

_FINISH_IN: Final[dict[str, FinishReason]] = {
    "end_turn": "stop",
    "stop_sequence": "stop_sequence",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "pause",
}
_FINISH_OUT: Final[dict[FinishReason, str]] = {
    "stop": "end_turn",
    "stop_sequence": "stop_sequence",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
    "pause": "pause_turn",
    "error": "end_turn",
    "other": "end_turn",
}
_ERROR_TYPES: Final[dict[ErrorKind, str]] = {
    "invalid_request": "invalid_request_error",
    "authentication": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "request_too_large": "request_too_large",
    "rate_limit": "rate_limit_error",
    "overloaded": "overloaded_error",
    "server": "api_error",
}
_KINDS: Final[dict[str, ErrorKind]] = {v: k for k, v in _ERROR_TYPES.items()}


def finish_from_anthropic(value: Any) -> FinishReason | None:
    if value is None:
        return None
    return _FINISH_IN.get(str(value), "other")


def finish_to_anthropic(reason: FinishReason | None) -> str | None:
    return None if reason is None else _FINISH_OUT[reason]


def error_type(kind: ErrorKind) -> str:
    return _ERROR_TYPES[kind]


def error_kind_from_type(value: Any, default: ErrorKind = "server") -> ErrorKind:
    return _KINDS.get(str(value), default)


def usage_from_anthropic(usage: Any) -> TokenUsage | None:
    if not isinstance(usage, Mapping):
        return None
    details = usage.get("output_tokens_details")
    read = usage.get("cache_read_input_tokens") or 0
    write = usage.get("cache_creation_input_tokens") or 0
    base = usage.get("input_tokens") or 0
    total_in = sum(v for v in (base, read, write) if isinstance(v, int) and not isinstance(v, bool))
    return usage_of(
        input_tokens=total_in,
        output_tokens=usage.get("output_tokens"),
        cached=read,
        cache_write=write,
        reasoning=details.get("thinking_tokens", 0) if isinstance(details, Mapping) else 0,
    )


def anthropic_usage(usage: TokenUsage) -> dict[str, Any]:
    """``usage`` in Messages fields (reasoning as ``output_tokens_details.thinking_tokens``)."""
    out: dict[str, Any] = {
        "input_tokens": usage.uncached_input_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cached_input_tokens,
        "output_tokens": usage.output_tokens,
    }
    if usage.reasoning_tokens:
        out["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return out


def lenient_object(arguments: str) -> dict[str, Any]:
    """Tool arguments as an object for a response; arguments cut short (``length``) become ``{}``."""
    return (loads_object(arguments) or {}) if arguments.strip() else {}
