"""Amazon Bedrock Converse as a *client* format (``POST /model/{modelId}/converse`` and
``/converse-stream``, the latter answered in AWS event-stream frames by :mod:`.bedrock_stream`).

Bedrock as a *provider* needs AWS SigV4 credentials, which the gateway does not hold: the
handler answers 403 ``provider_not_configured`` before any codec is asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NoReturn

from .anthropic_fields import lenient_object
from .base import (
    ClientRoute,
    Format,
    ProviderRoute,
    StreamDecoder,
    StreamEncoder,
    Untranslatable,
    check_keys,
    list_of,
    schema_of,
)
from .bedrock_stream import BedrockStreamEncoder
from .common import dumps, int_field, num_field, usage_of
from .ir import (
    ChatRequest,
    ChatResponse,
    Choice,
    ErrorKind,
    FinishReason,
    Image,
    Message,
    Part,
    Text,
    Thinking,
    TokenUsage,
    Tool,
    ToolCall,
    ToolChoice,
    ToolResult,
    UpstreamError,
)

__all__ = ["BedrockConverseCodec", "usage_from_bedrock"]

_HANDLED: Final = frozenset({"messages", "system", "inferenceConfig", "toolConfig", "modelId"})
_IGNORED: Final = frozenset({"requestMetadata"})
_FINISH_OUT: Final[dict[FinishReason, str]] = {
    "stop": "end_turn",
    "stop_sequence": "stop_sequence",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "content_filtered",
    "pause": "end_turn",
    "error": "end_turn",
    "other": "end_turn",
}
_ERRORS: Final[dict[ErrorKind, str]] = {
    "invalid_request": "ValidationException",
    "authentication": "UnrecognizedClientException",
    "permission": "AccessDeniedException",
    "not_found": "ResourceNotFoundException",
    "request_too_large": "ValidationException",
    "rate_limit": "ThrottlingException",
    "overloaded": "ServiceUnavailableException",
    "server": "InternalServerException",
}


def usage_from_bedrock(usage: Any) -> TokenUsage | None:
    """Converse usage: ``inputTokens`` excludes cache reads and writes."""
    if not isinstance(usage, Mapping):
        return None
    read = usage.get("cacheReadInputTokens") or 0
    write = usage.get("cacheWriteInputTokens") or 0
    base = usage.get("inputTokens") or 0
    return usage_of(
        input_tokens=base + read + write, output_tokens=usage.get("outputTokens"), cached=read, cache_write=write
    )


def _bedrock_usage(usage: TokenUsage) -> dict[str, Any]:
    return {
        "inputTokens": usage.uncached_input_tokens,
        "outputTokens": usage.output_tokens,
        "totalTokens": usage.input_tokens + usage.output_tokens,
        "cacheReadInputTokens": usage.cached_input_tokens,
        "cacheWriteInputTokens": usage.cache_write_tokens,
    }


def _image(block: Mapping[str, Any], where: str) -> Image:
    fmt = block.get("format")
    source = block.get("source")
    if not isinstance(source, Mapping) or not isinstance(source.get("bytes"), str):
        raise Untranslatable(f"{where}image.source", "only inline (base64) images translate")
    return Image(media_type=f"image/{fmt or 'png'}", data=source["bytes"])


def _content(raw: Any, where: str) -> tuple[Part, ...]:
    parts: list[Part] = []
    for i, block in enumerate(list_of(raw, f"{where}content")):
        here = f"{where}content[{i}]."
        if not isinstance(block, Mapping):
            raise Untranslatable(f"{where}content[{i}]", "must be an object")
        if isinstance(block.get("text"), str):
            parts.append(Text(block["text"]))
        elif isinstance(block.get("image"), Mapping):
            parts.append(_image(block["image"], here))
        elif isinstance(block.get("toolUse"), Mapping):
            use = block["toolUse"]
            parts.append(
                ToolCall(
                    str(use.get("toolUseId") or ""), str(use.get("name") or ""), dumps(use.get("input") or {}).decode()
                )
            )
        elif isinstance(block.get("toolResult"), Mapping):
            res = block["toolResult"]
            items: list[Text | Image] = []
            for j, item in enumerate(list_of(res.get("content"), f"{here}toolResult.content")):
                if isinstance(item.get("text"), str):
                    items.append(Text(item["text"]))
                elif "json" in item:
                    items.append(Text(dumps(item["json"]).decode()))
                elif isinstance(item.get("image"), Mapping):
                    items.append(_image(item["image"], f"{here}toolResult.content[{j}]."))
                else:
                    raise Untranslatable(f"{here}toolResult.content[{j}]", "only text, json and images translate")
            parts.append(ToolResult(str(res.get("toolUseId") or ""), None, tuple(items), res.get("status") == "error"))
        elif isinstance(block.get("reasoningContent"), Mapping):
            text = block["reasoningContent"].get("reasoningText")
            if isinstance(text, Mapping):
                parts.append(Thinking(str(text.get("text") or ""), text.get("signature")))
        elif "cachePoint" in block:
            continue  # a caching hint; the target caches by its own rules
        else:
            raise Untranslatable(f"{here}{'/'.join(block)}", "this content block has no translation")
    return tuple(parts)


def decode_bedrock_request(body: Mapping[str, Any], route: ClientRoute) -> ChatRequest:
    """A Converse request (model from ``/model/{modelId}/converse``) → :class:`ChatRequest`."""
    check_keys(body, _HANDLED, _IGNORED)
    model = route.model or body.get("modelId")
    if not isinstance(model, str) or not model:
        raise Untranslatable("modelId", "the URL names no /model/{modelId}/converse")
    names: dict[str, str] = {}
    messages = []
    for i, msg in enumerate(list_of(body.get("messages"), "messages")):
        role = msg.get("role") if isinstance(msg, Mapping) else None
        if role not in ("user", "assistant") or not isinstance(msg, Mapping):
            raise Untranslatable(f"messages[{i}].role={role}", "unknown role")
        check_keys(msg, frozenset({"role", "content"}), frozenset(), f"messages[{i}].")
        parts = _content(msg.get("content"), f"messages[{i}].")
        fixed: list[Part] = []
        for p in parts:
            if isinstance(p, ToolCall):
                names[p.id] = p.name
            if isinstance(p, ToolResult):
                p = ToolResult(p.call_id, names.get(p.call_id), p.content, p.is_error)
            fixed.append(p)
        messages.append(Message(role, tuple(fixed)))
    if not messages:
        raise Untranslatable("messages", "must be a non-empty list")
    system = [s.get("text") for s in body.get("system") or [] if isinstance(s, Mapping) and "cachePoint" not in s]
    if not all(isinstance(s, str) for s in system):
        raise Untranslatable("system", "only text system blocks translate")
    config = body.get("inferenceConfig") or {}
    check_keys(
        config, frozenset({"maxTokens", "temperature", "topP", "stopSequences"}), frozenset(), "inferenceConfig."
    )
    tools_cfg = body.get("toolConfig") or {}
    check_keys(tools_cfg, frozenset({"tools", "toolChoice"}), frozenset(), "toolConfig.")
    tools = []
    for i, tool in enumerate(list_of(tools_cfg.get("tools"), "toolConfig.tools")):
        spec = tool.get("toolSpec") if isinstance(tool, Mapping) else None
        if not isinstance(spec, Mapping):
            if isinstance(tool, Mapping) and "cachePoint" in tool:
                continue
            raise Untranslatable(f"toolConfig.tools[{i}]", "only toolSpec tools translate")
        schema = spec.get("inputSchema", {}).get("json") or {"type": "object", "properties": {}}
        tools.append(
            Tool(
                str(spec.get("name") or ""),
                spec.get("description"),
                schema_of(schema, f"toolConfig.tools[{i}].toolSpec.inputSchema.json"),
            )
        )
    choice = None
    raw_choice = tools_cfg.get("toolChoice")
    if isinstance(raw_choice, Mapping):
        if "auto" in raw_choice:
            choice = ToolChoice("auto")
        elif "any" in raw_choice:
            choice = ToolChoice("required")
        elif isinstance(raw_choice.get("tool"), Mapping):
            choice = ToolChoice("tool", str(raw_choice["tool"].get("name") or ""))
    return ChatRequest(
        model=model,
        messages=tuple(messages),
        system="\n\n".join(s for s in system if isinstance(s, str)) or None,
        stream=route.stream,
        stream_usage=route.stream,
        tools=tuple(tools),
        tool_choice=choice,
        max_tokens=int_field(config, "maxTokens", "inferenceConfig."),
        temperature=num_field(config, "temperature", "inferenceConfig."),
        top_p=num_field(config, "topP", "inferenceConfig."),
        stop=tuple(str(s) for s in list_of(config.get("stopSequences"), "inferenceConfig.stopSequences")),
    )


def encode_bedrock_response(resp: ChatResponse, route: ClientRoute) -> dict[str, Any]:
    choice = resp.choices[0] if resp.choices else Choice((), None)
    content: list[dict[str, Any]] = []
    for part in choice.parts:
        if isinstance(part, Thinking):
            content.append(
                {
                    "reasoningContent": {
                        "reasoningText": {
                            "text": part.text,
                            **({"signature": part.signature} if part.signature else {}),
                        }
                    }
                }
            )
        elif isinstance(part, Text):
            content.append({"text": part.text})
        else:
            content.append(
                {"toolUse": {"toolUseId": part.id, "name": part.name, "input": lenient_object(part.arguments)}}
            )
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": _FINISH_OUT[choice.finish or "stop"],
        "usage": _bedrock_usage(resp.usage or TokenUsage()),
        "metrics": {"latencyMs": 0},
    }


def _no_provider() -> NoReturn:
    raise Untranslatable("bedrock", "Bedrock is not available as a rewrite target")


class BedrockConverseCodec:
    """The ``bedrock`` format (client side only)."""

    @property
    def format(self) -> Format:
        return "bedrock"

    def decode_request(self, body: Mapping[str, Any], route: ClientRoute) -> ChatRequest:
        return decode_bedrock_request(body, route)

    def encode_response(self, response: ChatResponse, route: ClientRoute) -> dict[str, Any]:
        return encode_bedrock_response(response, route)

    def stream_encoder(self, request: ChatRequest, route: ClientRoute) -> StreamEncoder:
        return BedrockStreamEncoder(_bedrock_usage, _FINISH_OUT)

    def encode_error(self, error: UpstreamError) -> tuple[int, dict[str, Any]]:
        return error.status, {"__type": _ERRORS[error.kind], "message": error.message}

    def usage_fields(self, usage: TokenUsage) -> dict[str, Any]:
        return _bedrock_usage(usage)

    def provider_route(self, request: ChatRequest, path: str, query: str, provider: str) -> ProviderRoute:
        _no_provider()

    def encode_request(self, request: ChatRequest, route: ProviderRoute) -> dict[str, Any]:
        _no_provider()

    def decode_response(self, body: Mapping[str, Any]) -> ChatResponse:
        _no_provider()

    def stream_decoder(self) -> StreamDecoder:
        _no_provider()

    def decode_error(self, status: int, body: bytes) -> UpstreamError:
        _no_provider()
