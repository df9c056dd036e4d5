"""Embeddings: OpenAI-style ``/embeddings`` and Gemini/Vertex ``:embedContent``,
``:batchEmbedContents`` and ``:predict``.

* OpenAI-compatible bodies report ``usage.prompt_tokens`` (and ``total_tokens``).
* Gemini reports ``usageMetadata.promptTokenCount`` (newer models; older ones report no
  usage at all, which yields ``usage=None``).
* Vertex ``:predict`` reports only a per-instance ``statistics.token_count``; those are
  summed, the one place where the reported number is not copied verbatim.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..providers import Provider
from ..usage import Metered, ReportedUsage, normalised
from ._base import (
    JsonDialect,
    JsonObj,
    NullStreamMeter,
    StreamMeter,
    as_int,
    as_str,
    dig,
    error_metered,
    inband_error,
    load_json,
    no_usage,
)
from .gemini import model_from_path

__all__ = ["GeminiEmbeddingsDialect", "OpenAIEmbeddingsDialect"]


def _input_only(reported: ReportedUsage, model: str | None, error: str | None) -> Metered:
    if reported.is_empty():
        return no_usage(model, None, error)
    normal = normalised(input_tokens=reported.input_tokens or 0)
    return Metered(usage=normal, reported=reported, model=model, response_id=None, error=error)


@dataclass(frozen=True, slots=True)
class OpenAIEmbeddingsDialect(JsonDialect):
    name: str = "openai.embeddings"

    def wants_stream(self, path: str, query: str, body: JsonObj | None) -> bool:
        return False

    def meter_body(
        self, status: int, content_type: str, body: bytes, request_body: JsonObj | None, provider: Provider
    ) -> Metered:
        if status >= 400:
            return error_metered(status, body)
        obj = load_json(body)
        if not isinstance(obj, Mapping):
            return no_usage()
        usage = obj.get("usage")
        reported = ReportedUsage(
            input_tokens=as_int(dig(usage, ("prompt_tokens",))),
            total_tokens=as_int(dig(usage, ("total_tokens",))),
        )
        return _input_only(reported, as_str(obj.get("model")), inband_error(obj))

    def stream_meter(self, provider: Provider, request_body: JsonObj | None, strip_usage_chunk: bool) -> StreamMeter:
        return NullStreamMeter(no_usage())


def _predict_token_count(obj: JsonObj) -> int | None:
    predictions = obj.get("predictions")
    if not isinstance(predictions, list):
        return None
    counts = [as_int(dig(p, ("embeddings", "statistics", "token_count"))) for p in predictions]
    known = [c for c in counts if c is not None]
    return sum(known) if known else None


@dataclass(frozen=True, slots=True)
class GeminiEmbeddingsDialect(JsonDialect):
    name: str = "google.embed_content"

    def request_model(self, path: str, body: JsonObj | None) -> str | None:
        return model_from_path(path) or JsonDialect.request_model(self, path, body)

    def wants_stream(self, path: str, query: str, body: JsonObj | None) -> bool:
        return False

    def meter_body(
        self, status: int, content_type: str, body: bytes, request_body: JsonObj | None, provider: Provider
    ) -> Metered:
        if status >= 400:
            return error_metered(status, body)
        obj: Any = load_json(body)
        if not isinstance(obj, Mapping):
            return no_usage()
        meta = obj.get("usageMetadata")
        if isinstance(meta, Mapping):
            reported = ReportedUsage(
                input_tokens=as_int(meta.get("promptTokenCount")),
                total_tokens=as_int(meta.get("totalTokenCount")),
            )
        else:
            reported = ReportedUsage(input_tokens=_predict_token_count(obj))
        return _input_only(reported, as_str(obj.get("modelVersion")), inband_error(obj))

    def stream_meter(self, provider: Provider, request_body: JsonObj | None, strip_usage_chunk: bool) -> StreamMeter:
        return NullStreamMeter(no_usage())
