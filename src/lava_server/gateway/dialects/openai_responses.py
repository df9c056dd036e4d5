"""OpenAI Responses API (also xAI, DeepSeek, OpenRouter, Azure and Bedrock-Mantle).

Usage comes only from the final response: a non-stream body's ``usage`` (a background
POST returns ``status: queued`` with ``usage: null``; GET polls return it once
``completed``), or a stream's terminal event ``response.completed`` /
``response.incomplete`` / ``response.failed``. ``input_tokens`` already includes cached
tokens and ``output_tokens`` already includes reasoning, so nothing is added. Server-side
tool calls billed per call are counted from the final response's ``output`` items:
``web_search_call`` (web searches) and ``file_search_call`` (file/storage searches).

Streams: only events named (or, without an ``event:`` line, typed) as terminal,
``response.created`` or ``error`` are parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..providers import Provider
from ..sse import SseEvent
from ..usage import Metered, ReportedUsage, normalised
from ._base import (
    JsonDialect,
    JsonObj,
    StreamMeter,
    as_int,
    as_str,
    dig,
    error_metered,
    inband_error,
    is_sse_content,
    load_json,
    meter_sse_body,
    no_usage,
)

__all__ = ["ResponsesDialect", "responses_metered"]

_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
_CREATED = "response.created"
_ERROR = "error"
# Cheap markers for streams without `event:` lines (OpenRouter): parse only these.
_MARKERS = (b'"response.completed"', b'"response.incomplete"', b'"response.failed"', b'"response.created"')


def _failure(response: JsonObj) -> str | None:
    if response.get("status") != "failed":
        return inband_error(response)
    return inband_error(response) or "response failed"


_PRICED_TOOL_CALLS = frozenset({"web_search_call", "file_search_call"})


def _tool_calls(output: Any) -> dict[str, int]:
    """Server-side tool calls billed per call, counted from the response's ``output`` items."""
    counts: dict[str, int] = {}
    if isinstance(output, list):
        for item in output:
            kind = as_str(dig(item, ("type",)))
            if kind in _PRICED_TOOL_CALLS:
                counts[kind] = counts.get(kind, 0) + 1
    return counts


def responses_metered(response: Any) -> Metered:
    """Meter one Response object (a non-stream body or a terminal event's ``response``)."""
    if not isinstance(response, Mapping):
        return no_usage()
    model = as_str(response.get("model"))
    rid = as_str(response.get("id"))
    error = _failure(response)
    usage = response.get("usage")
    if not isinstance(usage, Mapping):
        if error is None and response.get("status") in ("queued", "in_progress"):
            return Metered(usage=None, reported=None, model=model, response_id=rid, pending=True)
        return no_usage(model, rid, error)
    reported = ReportedUsage(
        input_tokens=as_int(usage.get("input_tokens")),
        output_tokens=as_int(usage.get("output_tokens")),
        cached_input_tokens=as_int(dig(usage, ("input_tokens_details", "cached_tokens"))),
        cache_creation_input_tokens=as_int(dig(usage, ("input_tokens_details", "cache_write_tokens"))),
        reasoning_tokens=as_int(dig(usage, ("output_tokens_details", "reasoning_tokens"))),
        total_tokens=as_int(usage.get("total_tokens")),
    )
    if reported.is_empty():
        return Metered(usage=None, reported=reported, model=model, response_id=rid, error=error)
    tool_calls = _tool_calls(response.get("output"))
    normal = normalised(
        input_tokens=reported.input_tokens or 0,
        output_tokens=reported.output_tokens or 0,
        cached_input_tokens=reported.cached_input_tokens or 0,
        cache_write_tokens=reported.cache_creation_input_tokens or 0,
        reasoning_tokens=reported.reasoning_tokens or 0,
        web_search_requests=tool_calls.get("web_search_call", 0),
        file_search_requests=tool_calls.get("file_search_call", 0),
    )
    return Metered(usage=normal, reported=reported, model=model, response_id=rid, error=error)


@dataclass(frozen=True, slots=True)
class ResponsesDialect(JsonDialect):
    """``POST /responses``, ``POST /responses/compact`` and ``GET /responses/{id}``."""

    name: str = "openai.responses"
    stores_responses: bool = True  # False for /responses/compact: its result is not fetched again

    def stored_response_id(self, method: str, path: str) -> str | None:
        if not self.stores_responses or method.upper() not in ("GET", "HEAD"):
            return None
        return path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or None

    def wants_stream(self, path: str, query: str, body: JsonObj | None) -> bool:
        if body is not None:
            return body.get("stream") is True
        # GET /responses/{id}?stream=true resumes a background response's stream.
        return any(part.lower() == "stream=true" for part in query.split("&"))

    def meter_body(
        self, status: int, content_type: str, body: bytes, request_body: JsonObj | None, provider: Provider
    ) -> Metered:
        if status >= 400:
            return error_metered(status, body)
        if is_sse_content(content_type):
            return meter_sse_body(self, body, request_body, provider)
        return responses_metered(load_json(body))

    def stream_meter(self, provider: Provider, request_body: JsonObj | None, strip_usage_chunk: bool) -> StreamMeter:
        return _ResponsesStreamMeter()


class _ResponsesStreamMeter:
    __slots__ = ("_error", "_final", "_model", "_response_id")

    def __init__(self) -> None:
        self._final: Metered | None = None
        self._model: str | None = None
        self._response_id: str | None = None
        self._error: str | None = None

    def feed(self, event: SseEvent) -> bool:
        data = event.data
        if not data:
            return True
        name = event.event
        if name is None:
            if not (b'"error"' in data or any(marker in data for marker in _MARKERS)):
                return True
        elif name not in _TERMINAL and name != _CREATED and name != _ERROR:
            return True
        obj = load_json(data)
        if not isinstance(obj, Mapping):
            return True
        kind = as_str(obj.get("type")) or name
        if kind in _TERMINAL:
            self._final = responses_metered(obj.get("response"))
        elif kind == _CREATED:
            response = obj.get("response")
            self._model = as_str(dig(response, ("model",)))
            self._response_id = as_str(dig(response, ("id",)))
        elif kind == _ERROR:
            self._error = inband_error(obj) or as_str(obj.get("message")) or "stream error"
        return True

    def finish(self) -> Metered:
        final = self._final or no_usage(self._model, self._response_id)
        final.model = final.model or self._model
        final.response_id = final.response_id or self._response_id
        final.error = final.error or self._error
        return final
