"""Anthropic Messages (``/v1/messages``).

``input_tokens`` excludes cache reads and writes, so billable input is
``input + cache_read_input_tokens + cache_creation_input_tokens``; the 1-hour part of the
cache writes (``cache_creation.ephemeral_1h_input_tokens``) is kept for pricing. Thinking
tokens (``output_tokens_details.thinking_tokens``) are already inside ``output_tokens``.
Anthropic reports no total.

Streams: ``message_start.message.usage`` is overlaid by the *last* ``message_delta.usage``
(cumulative ``output_tokens``; restated input and cache counts win). A stream that ends
without any ``message_delta`` has only a placeholder output count, so it yields no usage
(the caller estimates) but keeps the ``message_start`` numbers as ``reported``.

Advisor iterations (``usage.iterations[]`` of type ``advisor_message``) ran another model
and are not in the top-level totals; they are returned as :class:`SubCall`\\ s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..providers import Provider
from ..sse import SseEvent
from ..usage import Metered, ReportedUsage, SubCall, Usage, normalised
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

__all__ = ["AnthropicDialect", "anthropic_usage"]

_SEPARATELY_PRICED = frozenset({"advisor_message"})
_PARSED_EVENTS = frozenset({"message_start", "message_delta", "error"})
_MARKERS = (b'"message_start"', b'"message_delta"', b'"error"')


def anthropic_usage(usage: JsonObj) -> tuple[ReportedUsage, Usage | None]:
    inp = as_int(usage.get("input_tokens"))
    out = as_int(usage.get("output_tokens"))
    read = as_int(usage.get("cache_read_input_tokens"))
    write = as_int(usage.get("cache_creation_input_tokens"))
    reported = ReportedUsage(
        input_tokens=inp,
        output_tokens=out,
        cached_input_tokens=read,
        cache_creation_input_tokens=write,
        reasoning_tokens=as_int(dig(usage, ("output_tokens_details", "thinking_tokens"))),
        total_tokens=None,
    )
    if reported.is_empty():
        return reported, None
    return reported, normalised(
        input_tokens=(inp or 0) + (read or 0) + (write or 0),
        output_tokens=out or 0,
        cached_input_tokens=read or 0,
        cache_write_tokens=write or 0,
        cache_write_1h_tokens=as_int(dig(usage, ("cache_creation", "ephemeral_1h_input_tokens"))) or 0,
        reasoning_tokens=reported.reasoning_tokens or 0,
        web_search_requests=as_int(dig(usage, ("server_tool_use", "web_search_requests"))) or 0,
    )


def _sub_calls(usage: JsonObj) -> tuple[SubCall, ...]:
    iterations = usage.get("iterations")
    if not isinstance(iterations, list):
        return ()
    calls: list[SubCall] = []
    for item in iterations:
        if isinstance(item, Mapping) and item.get("type") in _SEPARATELY_PRICED:
            reported, normal = anthropic_usage(item)
            if normal is not None:
                calls.append(SubCall(model=as_str(item.get("model")), usage=normal, reported=reported))
    return tuple(calls)


def _metered(usage: Any, model: str | None, rid: str | None, error: str | None) -> Metered:
    if not isinstance(usage, Mapping):
        return no_usage(model, rid, error)
    reported, normal = anthropic_usage(usage)
    return Metered(normal, reported, model, rid, error, _sub_calls(usage))


@dataclass(frozen=True, slots=True)
class AnthropicDialect(JsonDialect):
    name: str = "anthropic.messages"

    def meter_body(
        self, status: int, content_type: str, body: bytes, request_body: JsonObj | None, provider: Provider
    ) -> Metered:
        if status >= 400:
            return error_metered(status, body)
        if is_sse_content(content_type):
            return meter_sse_body(self, body, request_body, provider)
        obj = load_json(body)
        if not isinstance(obj, Mapping):
            return no_usage()
        return _metered(obj.get("usage"), as_str(obj.get("model")), as_str(obj.get("id")), inband_error(obj))

    def stream_meter(self, provider: Provider, request_body: JsonObj | None, strip_usage_chunk: bool) -> StreamMeter:
        return _AnthropicStreamMeter()


class _AnthropicStreamMeter:
    __slots__ = ("_delta", "_error", "_model", "_response_id", "_start")

    def __init__(self) -> None:
        self._start: JsonObj = {}
        self._delta: JsonObj | None = None
        self._model: str | None = None
        self._response_id: str | None = None
        self._error: str | None = None

    def feed(self, event: SseEvent) -> bool:
        data = event.data
        if not data:
            return True
        name = event.event
        if name is not None and name not in _PARSED_EVENTS:
            return True
        if name is None and not any(marker in data for marker in _MARKERS):
            return True
        obj = load_json(data)
        if not isinstance(obj, Mapping):
            return True
        kind = as_str(obj.get("type")) or name
        if kind == "message_start":
            message = obj.get("message")
            usage = dig(message, ("usage",))
            self._start = usage if isinstance(usage, Mapping) else {}
            self._model = as_str(dig(message, ("model",)))
            self._response_id = as_str(dig(message, ("id",)))
        elif kind == "message_delta":
            usage = obj.get("usage")
            if isinstance(usage, Mapping):
                self._delta = usage
        elif kind == "error":
            self._error = inband_error(obj) or "stream error"
        return True

    def finish(self) -> Metered:
        if self._delta is None:
            start = anthropic_usage(self._start)[0] if self._start else None
            return Metered(None, start, self._model, self._response_id, self._error)
        return _metered({**self._start, **self._delta}, self._model, self._response_id, self._error)
