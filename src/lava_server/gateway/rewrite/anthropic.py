"""Anthropic Messages as a client and as a provider format (non-streamed parts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .anthropic_fields import (
    anthropic_usage,
    error_kind_from_type,
    error_type,
    finish_from_anthropic,
    finish_to_anthropic,
    lenient_object,
    usage_from_anthropic,
)
from .anthropic_request import (
    DEFAULT_MAX_TOKENS,
    THINKING_BUDGETS,
    decode_anthropic_request,
    encode_anthropic_request,
)
from .anthropic_stream import AnthropicStreamDecoder, AnthropicStreamEncoder
from .base import ClientRoute, Format, ProviderRoute, StreamDecoder, StreamEncoder
from .common import dumps, error_kind, loads_object
from .ir import (
    ChatRequest,
    ChatResponse,
    Choice,
    Text,
    Thinking,
    TokenUsage,
    ToolCall,
    UpstreamError,
)

__all__ = ["DEFAULT_MAX_TOKENS", "THINKING_BUDGETS", "AnthropicCodec"]

# -- responses ---------------------------------------------------------------------------


def decode_anthropic_response(body: Mapping[str, Any]) -> ChatResponse:
    parts: list[Text | Thinking | ToolCall] = []
    for block in body.get("content") or []:
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "text":
            parts.append(Text(str(block.get("text") or "")))
        elif kind == "thinking":
            parts.append(Thinking(str(block.get("thinking") or ""), block.get("signature")))
        elif kind == "tool_use":
            args = dumps(block.get("input") or {}).decode()
            parts.append(ToolCall(str(block.get("id") or ""), str(block.get("name") or ""), args))
    stop_sequence = body.get("stop_sequence")
    choice = Choice(
        tuple(parts),
        finish_from_anthropic(body.get("stop_reason")),
        stop_sequence if isinstance(stop_sequence, str) else None,
    )
    return ChatResponse(
        id=str(body.get("id") or ""),
        model=str(body.get("model") or ""),
        choices=(choice,),
        usage=usage_from_anthropic(body.get("usage")),
    )


def encode_anthropic_response(resp: ChatResponse, route: ClientRoute) -> dict[str, Any]:
    choice = resp.choices[0] if resp.choices else Choice((), None)
    content: list[dict[str, Any]] = []
    for part in choice.parts:
        if isinstance(part, Thinking):
            content.append({"type": "thinking", "thinking": part.text, "signature": part.signature or ""})
        elif isinstance(part, Text):
            content.append({"type": "text", "text": part.text})
        else:
            content.append(
                {"type": "tool_use", "id": part.id, "name": part.name, "input": lenient_object(part.arguments)}
            )
    return {
        "id": resp.id,
        "type": "message",
        "role": "assistant",
        "model": resp.model,
        "content": content,
        "stop_reason": finish_to_anthropic(choice.finish),
        "stop_sequence": choice.stop_sequence,
        "usage": anthropic_usage(resp.usage or TokenUsage()),
    }


def decode_anthropic_error(status: int, body: bytes) -> UpstreamError:
    obj = loads_object(body) or {}
    err = obj.get("error") if isinstance(obj.get("error"), Mapping) else {}
    assert isinstance(err, Mapping)
    kind = error_kind_from_type(err.get("type"), error_kind(status))
    return UpstreamError(status, kind, str(err.get("message") or f"upstream HTTP {status}"))


class AnthropicCodec:
    """The ``anthropic`` format: ``/v1/messages``."""

    @property
    def format(self) -> Format:
        return "anthropic"

    def decode_request(self, body: Mapping[str, Any], route: ClientRoute) -> ChatRequest:
        return decode_anthropic_request(body, route)

    def encode_response(self, response: ChatResponse, route: ClientRoute) -> dict[str, Any]:
        return encode_anthropic_response(response, route)

    def stream_encoder(self, request: ChatRequest, route: ClientRoute) -> StreamEncoder:
        return AnthropicStreamEncoder(request.model)

    def encode_error(self, error: UpstreamError) -> tuple[int, dict[str, Any]]:
        return error.status, {"type": "error", "error": {"type": error_type(error.kind), "message": error.message}}

    def usage_fields(self, usage: TokenUsage) -> dict[str, Any]:
        return anthropic_usage(usage)

    def provider_route(self, request: ChatRequest, path: str, query: str, provider: str) -> ProviderRoute:
        clean = path.rstrip("/")
        if not clean.endswith("/messages"):
            clean = clean + "/messages" if clean.endswith("/v1") else clean + "/v1/messages"
        return ProviderRoute(clean, query, provider)

    def encode_request(self, request: ChatRequest, route: ProviderRoute) -> dict[str, Any]:
        return encode_anthropic_request(request, route)

    def decode_response(self, body: Mapping[str, Any]) -> ChatResponse:
        return decode_anthropic_response(body)

    def stream_decoder(self) -> StreamDecoder:
        return AnthropicStreamDecoder()

    def decode_error(self, status: int, body: bytes) -> UpstreamError:
        return decode_anthropic_error(status, body)
