"""Chat Completions fields shared by the body and stream translators: finish reasons, usage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .common import usage_of
from .ir import ErrorKind, FinishReason, TokenUsage

__all__ = ["finish_from_openai", "finish_to_openai", "openai_error_type", "openai_usage", "usage_from_openai"]

_FINISH_IN: Final[dict[str, FinishReason]] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}
_FINISH_OUT: Final[dict[FinishReason, str]] = {
    "stop": "stop",
    "stop_sequence": "stop",
    "pause": "stop",
    "other": "stop",
    "error": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
}
_ERROR_TYPES: Final[dict[ErrorKind, str]] = {
    "invalid_request": "invalid_request_error",
    "authentication": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "request_too_large": "invalid_request_error",
    "rate_limit": "rate_limit_error",
    "overloaded": "server_error",
    "server": "server_error",
}


def finish_from_openai(value: Any) -> FinishReason | None:
    if value is None:
        return None
    return _FINISH_IN.get(str(value), "other")


def finish_to_openai(reason: FinishReason | None) -> str | None:
    return None if reason is None else _FINISH_OUT[reason]


def openai_error_type(kind: ErrorKind) -> str:
    """The Chat Completions ``error.type`` string for a neutral error kind."""
    return _ERROR_TYPES[kind]


def usage_from_openai(usage: Any) -> TokenUsage | None:
    """Normalised usage from a Chat Completions usage object (None if absent)."""
    if not isinstance(usage, Mapping):
        return None
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    if not isinstance(prompt_details, Mapping):
        prompt_details = {}
    if not isinstance(completion_details, Mapping):
        completion_details = {}
    return usage_of(
        input_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
        cached=prompt_details.get("cached_tokens", 0),
        cache_write=prompt_details.get("cache_write_tokens", 0),
        reasoning=completion_details.get("reasoning_tokens", 0),
    )


def openai_usage(usage: TokenUsage) -> dict[str, Any]:
    """``usage`` in Chat Completions fields."""
    prompt_details: dict[str, int] = {"cached_tokens": usage.cached_input_tokens}
    if usage.cache_write_tokens:
        prompt_details["cache_write_tokens"] = usage.cache_write_tokens
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }
