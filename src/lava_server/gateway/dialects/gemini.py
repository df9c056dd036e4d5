"""Google Gemini / Vertex ``models/{m}:generateContent`` and ``:streamGenerateContent``.

``usageMetadata``: ``promptTokenCount`` includes ``cachedContentTokenCount``;
``candidatesTokenCount`` excludes ``thoughtsTokenCount``; ``toolUsePromptTokenCount``
(grounding, file search, URL context) is billable input outside ``promptTokenCount``. So
normalised input = prompt + tool-use prompt, output = candidates + thoughts. The AUDIO and
IMAGE entries of ``promptTokensDetails`` / ``candidatesTokensDetails`` are kept as audio and
image parts (priced at the model's audio or image rate where it has one, e.g. image output of
``gemini-2.5-flash-image``). Not metered: grounding requests (Google reports no count).

Every stream chunk carries *cumulative* usage: the last one wins. Without ``alt=sse`` the
stream is one JSON array served as ``application/json``; :meth:`meter_body` takes the last
element that has usage. The model comes from the URL on the request side and from
``modelVersion`` on the response side (an alias such as ``gemini-flash-latest`` resolves).

Stream meters keep only the raw bytes of the latest chunk that mentions
``usageMetadata`` and parse it once at the end, so a stream costs one JSON parse for the
first chunk (ids) and one for the usage, whatever its length.
"""

from __future__ import annotations

import re
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

__all__ = ["GeminiDialect", "gemini_metered", "model_from_path"]

_MODEL_IN_PATH = re.compile(r"/((?:tuned)?[mM]odels/[^/:]+):")
_STREAM_METHOD = ":streamGenerateContent"


def model_from_path(path: str) -> str | None:
    """``gemini-2.5-flash`` from ``/v1beta/models/gemini-2.5-flash:generateContent``.

    Vertex paths (``.../publishers/google/models/{m}:...``) work the same way; tuned models
    keep their ``tunedModels/`` prefix.
    """
    match = _MODEL_IN_PATH.search(path)
    if match is None:
        return None
    name = match.group(1)
    return name.split("/", 1)[1] if name.lower().startswith("models/") else name


def _blocked(obj: JsonObj) -> str | None:
    reason = as_str(dig(obj, ("promptFeedback", "blockReason")))
    return f"prompt blocked: {reason}" if reason else None


def gemini_metered(obj: Any) -> Metered:
    """Meter one ``GenerateContentResponse`` object."""
    if not isinstance(obj, Mapping):
        return no_usage()
    model = as_str(obj.get("modelVersion"))
    rid = as_str(obj.get("responseId"))
    error = inband_error(obj) or _blocked(obj)
    meta = obj.get("usageMetadata")
    if not isinstance(meta, Mapping):
        return no_usage(model, rid, error)
    prompt = as_int(meta.get("promptTokenCount"))
    candidates = as_int(meta.get("candidatesTokenCount"))
    thoughts = as_int(meta.get("thoughtsTokenCount"))
    reported = ReportedUsage(
        input_tokens=prompt,
        output_tokens=candidates,
        cached_input_tokens=as_int(meta.get("cachedContentTokenCount")),
        cache_creation_input_tokens=None,
        reasoning_tokens=thoughts,
        total_tokens=as_int(meta.get("totalTokenCount")),
    )
    if reported.is_empty():  # e.g. Vertex Model Armor: usageMetadata holds only trafficType
        return no_usage(model, rid, error)
    prompt_modality = _by_modality(meta.get("promptTokensDetails"))
    output_modality = _by_modality(meta.get("candidatesTokensDetails"))
    normal = normalised(
        input_tokens=(prompt or 0) + (as_int(meta.get("toolUsePromptTokenCount")) or 0),
        output_tokens=(candidates or 0) + (thoughts or 0),
        cached_input_tokens=reported.cached_input_tokens or 0,
        reasoning_tokens=thoughts or 0,
        input_audio_tokens=prompt_modality.get("AUDIO", 0),
        input_image_tokens=prompt_modality.get("IMAGE", 0),
        output_audio_tokens=output_modality.get("AUDIO", 0),
        output_image_tokens=output_modality.get("IMAGE", 0),
    )
    return Metered(usage=normal, reported=reported, model=model, response_id=rid, error=error)


def _by_modality(details: Any) -> dict[str, int]:
    """``[{"modality": "AUDIO", "tokenCount": 12}, ...]`` → ``{"AUDIO": 12, ...}`` (summed per modality)."""
    counts: dict[str, int] = {}
    if isinstance(details, list):
        for item in details:
            modality = as_str(dig(item, ("modality",)))
            count = as_int(dig(item, ("tokenCount",)))
            if modality is not None and count is not None and count > 0:
                counts[modality] = counts.get(modality, 0) + count
    return counts


def _last_with_usage(items: list[Any]) -> Any:
    for item in reversed(items):
        if isinstance(item, Mapping) and isinstance(item.get("usageMetadata"), Mapping):
            return item
    return items[-1] if items else None


@dataclass(frozen=True, slots=True)
class GeminiDialect(JsonDialect):
    name: str = "google.generate_content"

    def request_model(self, path: str, body: JsonObj | None) -> str | None:
        return model_from_path(path) or JsonDialect.request_model(self, path, body)

    def wants_stream(self, path: str, query: str, body: JsonObj | None) -> bool:
        """True for ``:streamGenerateContent``, with or without ``alt=sse``.

        Only ``alt=sse`` produces ``text/event-stream``; without it the response is a JSON
        array, so the proxy picks :meth:`stream_meter` or :meth:`meter_body` by the
        response content type.
        """
        return path.endswith(_STREAM_METHOD)

    def meter_body(
        self, status: int, content_type: str, body: bytes, request_body: JsonObj | None, provider: Provider
    ) -> Metered:
        if status >= 400:
            return error_metered(status, body)
        if is_sse_content(content_type):
            return meter_sse_body(self, body, request_body, provider)
        obj = load_json(body)
        if isinstance(obj, list):
            error = next((e for e in map(inband_error, obj) if e), None)
            metered = gemini_metered(_last_with_usage(obj))
            metered.error = metered.error or error
            return metered
        return gemini_metered(obj)

    def stream_meter(self, provider: Provider, request_body: JsonObj | None, strip_usage_chunk: bool) -> StreamMeter:
        return _GeminiStreamMeter()


class _GeminiStreamMeter:
    __slots__ = ("_error", "_last_usage_data", "_model", "_response_id", "_seen_json")

    def __init__(self) -> None:
        self._last_usage_data: bytes | None = None
        self._seen_json = False
        self._model: str | None = None
        self._response_id: str | None = None
        self._error: str | None = None

    def feed(self, event: SseEvent) -> bool:
        data = event.data
        if not data:
            return True
        if b'"usageMetadata"' in data:
            self._last_usage_data = data
        if not self._seen_json or b'"error"' in data or b'"blockReason"' in data:
            obj = load_json(data)
            if isinstance(obj, Mapping):
                if not self._seen_json:
                    self._seen_json = True
                    self._model = as_str(obj.get("modelVersion"))
                    self._response_id = as_str(obj.get("responseId"))
                self._error = inband_error(obj) or _blocked(obj) or self._error
        return True

    def finish(self) -> Metered:
        if self._last_usage_data is None:
            return no_usage(self._model, self._response_id, self._error)
        metered = gemini_metered(load_json(self._last_usage_data))
        metered.model = metered.model or self._model
        metered.response_id = metered.response_id or self._response_id
        metered.error = metered.error or self._error
        return metered
