"""Google Gemini ``generateContent`` as a client and as a provider format (non-streamed parts).

The client's model and streaming flag come from its URL (``models/{model}:generateContent``
or ``:streamGenerateContent``), given here as :class:`ClientRoute`. Gemini function calls
may lack ids: they get ``call_<n>`` in order, and a ``functionResponse`` without an id
answers the oldest unanswered call of the same name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .anthropic_fields import lenient_object
from .base import ClientRoute, Format, ProviderRoute, StreamDecoder, StreamEncoder
from .common import dumps, error_kind, loads_object
from .gemini_fields import (
    error_status,
    finish_from_gemini,
    finish_to_gemini,
    gemini_usage,
    gget,
    usage_from_gemini,
)
from .gemini_request import decode_gemini_request, encode_gemini_request
from .gemini_stream import GeminiStreamDecoder, GeminiStreamEncoder
from .ir import (
    ChatRequest,
    ChatResponse,
    Choice,
    IdMap,
    Text,
    Thinking,
    TokenUsage,
    ToolCall,
    UpstreamError,
)

__all__ = ["GeminiCodec"]

_ENDPOINT = re.compile(r"^(?P<base>.*?)/(?:tuned)?[mM]odels/(?P<model>[^/:]+):(?:stream)?[gG]enerateContent$")


# -- responses ---------------------------------------------------------------------------


def decode_gemini_response(body: Mapping[str, Any]) -> ChatResponse:
    ids = IdMap()
    choices = []
    for cand in gget(body, "candidates") or []:
        if not isinstance(cand, Mapping):
            continue
        parts: list[Text | Thinking | ToolCall] = []
        for part in gget(gget(cand, "content"), "parts") or []:
            call = gget(part, "functionCall")
            if isinstance(call, Mapping):
                name = str(gget(call, "name") or "")
                call_id = str(gget(call, "id") or "") or ids.new(name)
                parts.append(ToolCall(call_id, name, dumps(gget(call, "args") or {}).decode()))
            elif isinstance(gget(part, "text"), str):
                text = gget(part, "text")
                parts.append(Thinking(text) if gget(part, "thought") is True else Text(text))
        finish = finish_from_gemini(gget(cand, "finishReason"))
        if finish == "stop" and any(isinstance(p, ToolCall) for p in parts):
            finish = "tool_calls"
        choices.append(Choice(tuple(parts), finish))
    return ChatResponse(
        id=str(gget(body, "responseId") or ""),
        model=str(gget(body, "modelVersion") or ""),
        choices=tuple(choices),
        usage=usage_from_gemini(gget(body, "usageMetadata")),
    )


def encode_gemini_response(resp: ChatResponse, route: ClientRoute) -> dict[str, Any]:
    candidates = []
    for index, choice in enumerate(resp.choices):
        parts: list[dict[str, Any]] = []
        for part in choice.parts:
            if isinstance(part, Thinking):
                parts.append({"text": part.text, "thought": True})
            elif isinstance(part, Text):
                parts.append({"text": part.text})
            else:
                parts.append(
                    {"functionCall": {"name": part.name, "args": lenient_object(part.arguments), "id": part.id}}
                )
        cand: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": index}
        finish = finish_to_gemini(choice.finish)
        if finish is not None:
            cand["finishReason"] = finish
        candidates.append(cand)
    out: dict[str, Any] = {"candidates": candidates, "modelVersion": resp.model, "responseId": resp.id}
    if resp.usage is not None:
        out["usageMetadata"] = gemini_usage(resp.usage)
    return out


def decode_gemini_error(status: int, body: bytes) -> UpstreamError:
    obj = loads_object(body) or {}
    err = obj.get("error") if isinstance(obj.get("error"), Mapping) else {}
    assert isinstance(err, Mapping)
    return UpstreamError(status, error_kind(status), str(err.get("message") or f"upstream HTTP {status}"))


class GeminiCodec:
    """The ``google`` format: ``models/{model}:generateContent`` and ``:streamGenerateContent``."""

    @property
    def format(self) -> Format:
        return "google"

    def decode_request(self, body: Mapping[str, Any], route: ClientRoute) -> ChatRequest:
        return decode_gemini_request(body, route)

    def encode_response(self, response: ChatResponse, route: ClientRoute) -> dict[str, Any]:
        return encode_gemini_response(response, route)

    def stream_encoder(self, request: ChatRequest, route: ClientRoute) -> StreamEncoder:
        return GeminiStreamEncoder(request.model, sse=route.sse)

    def encode_error(self, error: UpstreamError) -> tuple[int, dict[str, Any]]:
        body = {"error": {"code": error.status, "message": error.message, "status": error_status(error.kind)}}
        return error.status, body

    def usage_fields(self, usage: TokenUsage) -> dict[str, Any]:
        return gemini_usage(usage)

    def provider_route(self, request: ChatRequest, path: str, query: str, provider: str) -> ProviderRoute:
        method = "streamGenerateContent" if request.stream else "generateContent"
        match = _ENDPOINT.match(path.rstrip("/"))
        if match is not None:
            base, model = match.group("base"), match.group("model")
        else:
            base, model = path.rstrip("/") or "/v1beta", request.model.removeprefix("models/")
        params = [p for p in query.split("&") if p and not p.startswith("alt=")]
        if request.stream:
            params.append("alt=sse")
        return ProviderRoute(f"{base}/models/{model}:{method}", "&".join(params), provider)

    def encode_request(self, request: ChatRequest, route: ProviderRoute) -> dict[str, Any]:
        return encode_gemini_request(request, route)

    def decode_response(self, body: Mapping[str, Any]) -> ChatResponse:
        return decode_gemini_response(body)

    def stream_decoder(self) -> StreamDecoder:
        return GeminiStreamDecoder()

    def decode_error(self, status: int, body: bytes) -> UpstreamError:
        return decode_gemini_error(status, body)
