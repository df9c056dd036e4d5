"""OpenAI Chat Completions as a client and as a provider format (non-streamed parts).

Usage fields: ``prompt_tokens`` counts all input (cache reads inside, as
``prompt_tokens_details.cached_tokens``); cache writes, which OpenAI does not report, go in
``prompt_tokens_details.cache_write_tokens`` (the OpenRouter name); ``completion_tokens``
includes ``completion_tokens_details.reasoning_tokens``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .base import ClientRoute, Format, ProviderRoute, StreamDecoder, StreamEncoder
from .common import (
    error_kind,
    loads_object,
)
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
from .openai_fields import (
    finish_from_openai,
    finish_to_openai,
    openai_error_type,
    openai_usage,
    usage_from_openai,
)
from .openai_request import decode_openai_request, encode_openai_request
from .openai_stream import OpenAIStreamDecoder, OpenAIStreamEncoder

__all__ = ["OpenAIChatCodec"]

# -- responses ---------------------------------------------------------------------------


def decode_openai_response(body: Mapping[str, Any]) -> ChatResponse:
    choices = []
    for raw in body.get("choices") or []:
        if not isinstance(raw, Mapping):
            continue
        msg = raw.get("message") if isinstance(raw.get("message"), Mapping) else {}
        assert isinstance(msg, Mapping)
        parts: list[Text | Thinking | ToolCall] = []
        thinking = msg.get("reasoning_content") or msg.get("reasoning")
        if isinstance(thinking, str) and thinking:
            parts.append(Thinking(thinking))
        content = msg.get("content")
        if isinstance(content, str) and content:
            parts.append(Text(content))
        refusal = msg.get("refusal")
        if isinstance(refusal, str) and refusal:
            parts.append(Text(refusal))
        for call in msg.get("tool_calls") or []:
            fn = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(fn, Mapping):
                parts.append(
                    ToolCall(str(call.get("id") or ""), str(fn.get("name") or ""), str(fn.get("arguments") or ""))
                )
        choices.append(Choice(tuple(parts), finish_from_openai(raw.get("finish_reason"))))
    return ChatResponse(
        id=str(body.get("id") or ""),
        model=str(body.get("model") or ""),
        choices=tuple(choices),
        usage=usage_from_openai(body.get("usage")),
        created=body.get("created") if isinstance(body.get("created"), int) else None,
    )


def encode_openai_response(resp: ChatResponse, route: ClientRoute) -> dict[str, Any]:
    choices = []
    for index, choice in enumerate(resp.choices):
        text = "".join(p.text for p in choice.parts if isinstance(p, Text))
        thinking = "".join(p.text for p in choice.parts if isinstance(p, Thinking))
        calls = [p for p in choice.parts if isinstance(p, ToolCall)]
        message: dict[str, Any] = {"role": "assistant", "content": text or None, "refusal": None}
        if thinking:
            message["reasoning_content"] = thinking
        if calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls
            ]
        choices.append(
            {"index": index, "message": message, "finish_reason": finish_to_openai(choice.finish), "logprobs": None}
        )
    out: dict[str, Any] = {
        "id": resp.id,
        "object": "chat.completion",
        "created": resp.created or int(time.time()),
        "model": resp.model,
        "choices": choices,
    }
    if resp.usage is not None:
        out["usage"] = openai_usage(resp.usage)
    return out


def decode_openai_error(status: int, body: bytes) -> UpstreamError:
    obj = loads_object(body) or {}
    err = obj.get("error")
    message = err.get("message") if isinstance(err, Mapping) else err if isinstance(err, str) else None
    return UpstreamError(status, error_kind(status), str(message or f"upstream HTTP {status}"))


class OpenAIChatCodec:
    """The ``openai`` format: ``/chat/completions``."""

    @property
    def format(self) -> Format:
        return "openai"

    def decode_request(self, body: Mapping[str, Any], route: ClientRoute) -> ChatRequest:
        return decode_openai_request(body, route)

    def encode_response(self, response: ChatResponse, route: ClientRoute) -> dict[str, Any]:
        return encode_openai_response(response, route)

    def stream_encoder(self, request: ChatRequest, route: ClientRoute) -> StreamEncoder:
        return OpenAIStreamEncoder(request.model, include_usage=request.stream_usage)

    def encode_error(self, error: UpstreamError) -> tuple[int, dict[str, Any]]:
        body = {"error": {"message": error.message, "type": openai_error_type(error.kind), "param": None, "code": None}}
        return error.status, body

    def usage_fields(self, usage: TokenUsage) -> dict[str, Any]:
        return openai_usage(usage)

    def provider_route(self, request: ChatRequest, path: str, query: str, provider: str) -> ProviderRoute:
        clean = path.rstrip("/")
        if not clean.endswith("/chat/completions"):
            clean = (clean or "/v1") + "/chat/completions"
        return ProviderRoute(clean, query, provider)

    def encode_request(self, request: ChatRequest, route: ProviderRoute) -> dict[str, Any]:
        return encode_openai_request(request, route)

    def decode_response(self, body: Mapping[str, Any]) -> ChatResponse:
        return decode_openai_response(body)

    def stream_decoder(self) -> StreamDecoder:
        return OpenAIStreamDecoder()

    def decode_error(self, status: int, body: bytes) -> UpstreamError:
        return decode_openai_error(status, body)
