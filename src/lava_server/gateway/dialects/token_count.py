"""Token-count endpoints: Anthropic ``/v1/messages/count_tokens``, OpenAI
``/responses/input_tokens`` and Gemini ``:countTokens``. They are not consumption
(``billable = False``): metering never yields usage, only an error for non-2xx answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..providers import Provider
from ..usage import Metered
from ._base import JsonDialect, JsonObj, NullStreamMeter, StreamMeter, error_metered, no_usage
from .gemini import model_from_path

__all__ = ["TokenCountDialect"]


@dataclass(frozen=True, slots=True)
class TokenCountDialect(JsonDialect):
    name: str = "token_count"
    model_in_path: bool = False
    billable: bool = False

    def request_model(self, path: str, body: JsonObj | None) -> str | None:
        if self.model_in_path:
            return model_from_path(path)
        return JsonDialect.request_model(self, path, body)

    def wants_stream(self, path: str, query: str, body: JsonObj | None) -> bool:
        return False

    def meter_body(
        self, status: int, content_type: str, body: bytes, request_body: JsonObj | None, provider: Provider
    ) -> Metered:
        return error_metered(status, body) if status >= 400 else no_usage()

    def stream_meter(self, provider: Provider, request_body: JsonObj | None, strip_usage_chunk: bool) -> StreamMeter:
        return NullStreamMeter(no_usage())
