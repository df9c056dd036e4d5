"""OpenAI-style audio: ``/audio/transcriptions``, ``/audio/translations`` and ``/audio/speech``.

Transcription usage comes in three shapes:

* whisper: ``usage: {"type": "duration", "seconds": N}`` (no tokens) → ``input_seconds``;
* gpt-4o-transcribe: ``usage: {"type": "tokens", "input_tokens", "output_tokens", ...}``, whose
  ``input_token_details.audio_tokens`` are priced at the model's audio rate;
* Mistral: chat-style ``prompt_tokens`` / ``completion_tokens`` plus ``prompt_audio_seconds``.

A body without usage but with a ``duration`` (``verbose_json``) is metered by that duration.
``reported`` is None only when the provider reported nothing at all.

Requests are ``multipart/form-data``: the proxy passes the decoded form fields (if it has
them) as ``body``, so ``model`` and ``stream`` may be strings.

Speech (TTS) returns audio with no usage: it is metered from the request as characters of
``input`` (``needs_response_body = False``). With ``stream_format: "sse"`` newer models
report tokens in their final event; those are recorded as well.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from ..providers import Provider
from ..sse import SseEvent
from ..usage import Metered, ReportedUsage, Usage, normalised
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
from .openai_chat import chat_usage

__all__ = ["SpeechDialect", "TranscriptionDialect", "seconds"]

_USAGE_OBJECT = re.compile(rb'"usage"\s*:\s*\{')


def seconds(value: Any) -> Decimal | None:
    """A non-negative duration in seconds as an exact Decimal (floats via their repr)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() and result >= 0 else None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _token_usage(usage: JsonObj) -> tuple[ReportedUsage, Usage | None]:
    """``usage.type == "tokens"`` (gpt-4o-transcribe, gpt-4o-mini-tts)."""
    reported = ReportedUsage(
        input_tokens=as_int(usage.get("input_tokens")),
        output_tokens=as_int(usage.get("output_tokens")),
        total_tokens=as_int(usage.get("total_tokens")),
    )
    if reported.is_empty():
        return reported, None
    return reported, normalised(
        input_tokens=reported.input_tokens or 0,
        output_tokens=reported.output_tokens or 0,
        input_audio_tokens=as_int(dig(usage, ("input_token_details", "audio_tokens"))) or 0,
        output_audio_tokens=as_int(dig(usage, ("output_token_details", "audio_tokens"))) or 0,
    )


def transcription_metered(obj: Any, provider: Provider) -> Metered:
    if not isinstance(obj, Mapping):
        return no_usage()
    model = as_str(obj.get("model"))
    error = inband_error(obj)
    usage = obj.get("usage")
    if not isinstance(usage, Mapping):
        duration = seconds(obj.get("duration"))
        if duration is None:
            return no_usage(model, None, error)
        return Metered(normalised(input_seconds=duration), ReportedUsage(), model, None, error)
    if usage.get("type") == "duration":
        duration = seconds(usage.get("seconds"))
        normal = normalised(input_seconds=duration) if duration is not None else None
        return Metered(normal, ReportedUsage(), model, None, error)
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        reported, normal = chat_usage(usage, provider.chat)
    else:
        reported, normal = _token_usage(usage)
    audio = seconds(usage.get("prompt_audio_seconds"))
    if normal is not None and audio is not None:
        normal = replace(normal, input_seconds=normalised(input_seconds=audio).input_seconds)
    elif normal is None and audio is not None:
        normal = normalised(input_seconds=audio)
    return Metered(normal, reported, model, None, error)


@dataclass(frozen=True, slots=True)
class TranscriptionDialect(JsonDialect):
    name: str = "openai.audio_transcriptions"

    def wants_stream(self, path: str, query: str, body: JsonObj | None) -> bool:
        return body is not None and _truthy(body.get("stream"))

    def meter_body(
        self, status: int, content_type: str, body: bytes, request_body: JsonObj | None, provider: Provider
    ) -> Metered:
        if status >= 400:
            return error_metered(status, body)
        if is_sse_content(content_type):
            return meter_sse_body(self, body, request_body, provider)
        return transcription_metered(load_json(body), provider)

    def stream_meter(self, provider: Provider, request_body: JsonObj | None, strip_usage_chunk: bool) -> StreamMeter:
        return _LastUsageMeter(provider, characters=None)


def _input_characters(request_body: JsonObj | None, field: str) -> int | None:
    text = request_body.get(field) if request_body is not None else None
    return len(text) if isinstance(text, str) else None


@dataclass(frozen=True, slots=True)
class SpeechDialect(JsonDialect):
    """Text to speech billed by characters of the request's ``text_field``.

    ElevenLabs uses the same dialect with ``text_field="text"`` and ``model_field="model_id"``;
    its ``/stream`` variant returns raw audio, not SSE, so it never "wants" an SSE stream.
    """

    name: str = "openai.audio_speech"
    text_field: str = "input"
    model_field: str = "model"
    needs_response_body: bool = False

    def request_model(self, path: str, body: JsonObj | None) -> str | None:
        return as_str(body.get(self.model_field)) if body is not None else None

    def wants_stream(self, path: str, query: str, body: JsonObj | None) -> bool:
        return body is not None and body.get("stream_format") == "sse"

    def meter_body(
        self, status: int, content_type: str, body: bytes, request_body: JsonObj | None, provider: Provider
    ) -> Metered:
        if status >= 400:
            return error_metered(status, body)
        return _characters_metered(_input_characters(request_body, self.text_field), None)

    def stream_meter(self, provider: Provider, request_body: JsonObj | None, strip_usage_chunk: bool) -> StreamMeter:
        return _LastUsageMeter(provider, characters=_input_characters(request_body, self.text_field))


def _characters_metered(characters: int | None, tokens: Metered | None) -> Metered:
    if characters is None:
        return tokens or no_usage()
    if tokens is None or tokens.usage is None:
        error = tokens.error if tokens is not None else None
        return Metered(normalised(input_characters=characters), None, None, None, error)
    tokens.usage = replace(tokens.usage, input_characters=normalised(input_characters=characters).input_characters)
    return tokens


class _LastUsageMeter:
    """Audio streams: the last event carrying a ``usage`` object wins."""

    __slots__ = ("_characters", "_error", "_provider", "_usage_data")

    def __init__(self, provider: Provider, characters: int | None) -> None:
        self._provider = provider
        self._characters = characters
        self._usage_data: bytes | None = None
        self._error: str | None = None

    def feed(self, event: SseEvent) -> bool:
        data = event.data
        if data and b'"usage"' in data and _USAGE_OBJECT.search(data):
            self._usage_data = data
        if data and (event.event == "error" or b'"error"' in data):
            self._error = inband_error(load_json(data)) or self._error
        return True

    def finish(self) -> Metered:
        tokens = transcription_metered(load_json(self._usage_data), self._provider) if self._usage_data else None
        if tokens is not None:
            tokens.error = tokens.error or self._error
        elif self._error is not None:
            tokens = no_usage(error=self._error)
        if self._characters is not None:
            return _characters_metered(self._characters, tokens)
        return tokens or no_usage()
