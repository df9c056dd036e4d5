"""OpenAI Chat Completions and every OpenAI-compatible ``/chat/completions``.

Provider differences (where usage sits, cache-hit field names, xAI's reasoning outside
``completion_tokens``, Gemini-compat's hidden thinking) come from
:class:`~lava_server.gateway.providers.ChatQuirks`; this module has no provider branches.

Streams: the *last* non-null usage object wins, never a sum (docs/usage-notes.md). Only events
whose data contains a ``"usage": {`` object, an ``"error"`` key or an ``event: error`` line
are parsed, plus the first JSON chunk or two for the response id and model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..providers import ChatQuirks, Provider
from ..request_fields import FormFields
from ..sse import SseEvent
from ..usage import Metered, ReportedUsage, Usage, normalised
from ._base import (
    UNCHANGED,
    JsonDialect,
    JsonObj,
    PrepareResult,
    StreamMeter,
    as_int,
    as_str,
    dig,
    error_metered,
    first_int,
    inband_error,
    is_sse_content,
    load_json,
    meter_sse_body,
    no_usage,
)

__all__ = ["OpenAIChatDialect", "chat_usage", "locate_usage"]

_USAGE_OBJECT = re.compile(rb'"usage"\s*:\s*\{')
_AZURE_DEPLOYMENT = re.compile(r"/deployments/([^/]+)/")
_DONE = b"[DONE]"
_ID_PROBES = 3  # JSON chunks parsed at most to find the response id and model


def locate_usage(obj: Any, quirks: ChatQuirks) -> JsonObj | None:
    """The first usage object found at the provider's usage locations."""
    for path in quirks.usage_paths:
        usage = dig(obj, path)
        if isinstance(usage, Mapping):
            return usage
    return None


def chat_usage(usage: JsonObj, quirks: ChatQuirks) -> tuple[ReportedUsage, Usage | None]:
    """Reported and normalised usage from a Chat Completions-style usage object.

    The normalised usage is None when the object holds no token count at all.
    """
    prompt = as_int(usage.get("prompt_tokens"))
    completion = as_int(usage.get("completion_tokens"))
    total = as_int(usage.get("total_tokens"))
    reasoning = as_int(dig(usage, ("completion_tokens_details", "reasoning_tokens")))
    reported = ReportedUsage(
        input_tokens=prompt,
        output_tokens=completion,
        cached_input_tokens=first_int(usage, quirks.cached_paths),
        cache_creation_input_tokens=first_int(usage, quirks.cache_write_paths),
        reasoning_tokens=reasoning,
        total_tokens=total,
    )
    if reported.is_empty():
        return reported, None
    output = completion or 0
    billable_reasoning = reasoning or 0
    if quirks.reasoning_outside_completion:
        output += billable_reasoning
    elif quirks.hidden_reasoning_in_total and reasoning is None and total is not None and prompt is not None:
        hidden = total - prompt - output
        if hidden > 0:
            output += hidden
            billable_reasoning = hidden
    return reported, normalised(
        input_tokens=prompt or 0,
        output_tokens=output,
        cached_input_tokens=reported.cached_input_tokens or 0,
        cache_write_tokens=reported.cache_creation_input_tokens or 0,
        reasoning_tokens=billable_reasoning,
        input_audio_tokens=as_int(dig(usage, ("prompt_tokens_details", "audio_tokens"))) or 0,
        output_audio_tokens=as_int(dig(usage, ("completion_tokens_details", "audio_tokens"))) or 0,
        web_search_requests=as_int(dig(usage, ("server_tool_use_details", "web_search_requests"))) or 0,
    )


def _metered(
    usage_obj: JsonObj | None, quirks: ChatQuirks, model: str | None, rid: str | None, error: str | None
) -> Metered:
    if usage_obj is None:
        return no_usage(model, rid, error)
    reported, usage = chat_usage(usage_obj, quirks)
    return Metered(usage=usage, reported=reported, model=model, response_id=rid, error=error)


@dataclass(frozen=True, slots=True)
class OpenAIChatDialect(JsonDialect):
    """``/chat/completions``; ``inject_stream_usage`` comes from the provider's quirks."""

    inject_stream_usage: bool = True
    name: str = "openai.chat_completions"

    def request_model(self, path: str, body: JsonObj | None) -> str | None:
        model = JsonDialect.request_model(self, path, body)
        if model is None:  # Azure names the deployment in the path, not the body
            match = _AZURE_DEPLOYMENT.search(path)
            model = match.group(1) if match else None
        return model

    def prepare(self, body: dict[str, Any], stream: bool) -> PrepareResult:
        """Ask for the final usage chunk when a stream lacks ``stream_options.include_usage``.

        The returned ``strip_usage_chunk`` tells the stream meter to hide that chunk from a
        client that did not ask for it (docs/design.md "Streaming").
        """
        if not stream or not self.inject_stream_usage or isinstance(body, FormFields):
            return UNCHANGED
        options = body.get("stream_options")
        if isinstance(options, Mapping) and options.get("include_usage") is True:
            return UNCHANGED
        new_options = dict(options) if isinstance(options, Mapping) else {}
        new_options["include_usage"] = True
        return PrepareResult(body={**body, "stream_options": new_options}, strip_usage_chunk=True)

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
        usage_obj = locate_usage(obj, provider.chat)
        return _metered(usage_obj, provider.chat, as_str(obj.get("model")), as_str(obj.get("id")), inband_error(obj))

    def stream_meter(self, provider: Provider, request_body: JsonObj | None, strip_usage_chunk: bool) -> StreamMeter:
        return _ChatStreamMeter(provider.chat, strip_usage_chunk)


class _ChatStreamMeter:
    __slots__ = ("_error", "_id_probes", "_model", "_quirks", "_response_id", "_strip", "_usage")

    def __init__(self, quirks: ChatQuirks, strip: bool) -> None:
        self._quirks = quirks
        self._strip = strip
        self._id_probes = _ID_PROBES
        self._model: str | None = None
        self._response_id: str | None = None
        self._usage: JsonObj | None = None
        self._error: str | None = None

    def feed(self, event: SseEvent) -> bool:
        data = event.data
        if not data or (len(data) < 16 and data.strip() == _DONE):
            return True
        obj: Any = None
        if self._id_probes:  # the first chunks name the response (Azure's very first has "id": "")
            obj = load_json(data)
            if isinstance(obj, Mapping):
                self._id_probes -= 1
                self._response_id = self._response_id or as_str(obj.get("id"))
                self._model = self._model or as_str(obj.get("model"))
                if self._response_id and self._model:
                    self._id_probes = 0
        has_usage = b'"usage"' in data and _USAGE_OBJECT.search(data) is not None
        maybe_error = event.event == "error" or b'"error"' in data
        if not (has_usage or maybe_error):
            return True
        if obj is None:
            obj = load_json(data)
        if maybe_error:
            error = inband_error(obj)
            if error is None and event.event == "error":
                error = data.decode("utf-8", "replace")[:500]
            self._error = error or self._error
        usage = locate_usage(obj, self._quirks) if has_usage else None
        if usage is None:
            return True
        self._usage = usage
        if self._model is None and isinstance(obj, Mapping):
            self._model = as_str(obj.get("model"))
        # Hide exactly the injected usage-only chunk: no choices, just usage.
        return not (self._strip and isinstance(obj.get("usage"), Mapping) and not obj.get("choices"))

    def finish(self) -> Metered:
        return _metered(self._usage, self._quirks, self._model, self._response_id, self._error)
