"""Anthropic Messages requests: client request → neutral, neutral → provider request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .base import ClientRoute, ProviderRoute, Untranslatable, check_keys, list_of, schema_of
from .common import dumps, int_field, json_object, num_field, put_present, str_field
from .ir import (
    ChatRequest,
    Effort,
    Image,
    Message,
    Part,
    Reasoning,
    ResponseFormat,
    Text,
    Thinking,
    Tool,
    ToolCall,
    ToolChoice,
    ToolResult,
)

__all__ = ["DEFAULT_MAX_TOKENS", "THINKING_BUDGETS", "decode_anthropic_request", "encode_anthropic_request"]

DEFAULT_MAX_TOKENS: Final = 4096
"""``max_tokens`` sent to Anthropic (where it is required) when the client gave none."""
THINKING_BUDGETS: Final = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384}
"""An effort level as a thinking budget, in tokens."""

_HANDLED: Final = frozenset(
    {
        "model",
        "messages",
        "system",
        "max_tokens",
        "tools",
        "tool_choice",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "stream",
        "thinking",
        "output_config",
        "output_format",
    }
)
# cache_control (top level: automatic caching) is a cost hint; the target caches by its own rules.
_IGNORED: Final = frozenset({"metadata", "service_tier", "inference_geo", "cache_control"})
_EFFORTS: Final[dict[str, Effort]] = {"low": "low", "medium": "medium", "high": "high", "xhigh": "high", "max": "high"}


# -- decoding a client request ------------------------------------------------------------


def _image(block: Mapping[str, Any], where: str) -> Image:
    source = block.get("source")
    kind = source.get("type") if isinstance(source, Mapping) else None
    if kind == "base64" and isinstance(source, Mapping):
        return Image(media_type=str(source.get("media_type") or "image/png"), data=str(source.get("data") or ""))
    if kind == "url" and isinstance(source, Mapping):
        return Image(media_type=None, url=str(source.get("url") or ""))
    raise Untranslatable(f"{where}source.type={kind}", "only base64 and url images translate")


def _result_content(content: Any, where: str) -> tuple[Text | Image, ...]:
    if content is None:
        return ()
    if isinstance(content, str):
        return (Text(content),)
    out: list[Text | Image] = []
    for i, block in enumerate(content if isinstance(content, list) else []):
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "text":
            out.append(Text(str(block.get("text") or "")))
        elif kind == "image":
            out.append(_image(block, f"{where}content[{i}]."))
        else:
            raise Untranslatable(f"{where}content[{i}].type={kind}", "only text and images translate in tool results")
    return tuple(out)


def _blocks(content: Any, where: str, names: dict[str, str]) -> tuple[Part, ...]:
    if isinstance(content, str):
        return (Text(content),)
    if not isinstance(content, list):
        raise Untranslatable(f"{where}content", "must be a string or a list of blocks")
    parts: list[Part] = []
    for i, block in enumerate(content):
        here = f"{where}content[{i}]."
        kind = block.get("type") if isinstance(block, Mapping) else None
        if not isinstance(block, Mapping):
            raise Untranslatable(f"{where}content[{i}]", "must be an object")
        if kind == "text":
            parts.append(Text(str(block.get("text") or "")))
        elif kind == "image":
            parts.append(_image(block, here))
        elif kind == "tool_use":
            call_id = str_field(block, "id", here, required=True) or ""
            name = str_field(block, "name", here, required=True) or ""
            names[call_id] = name
            parts.append(ToolCall(call_id, name, dumps(block.get("input") or {}).decode()))
        elif kind == "tool_result":
            call_id = str_field(block, "tool_use_id", here, required=True) or ""
            content_parts = _result_content(block.get("content"), here)
            parts.append(ToolResult(call_id, names.get(call_id), content_parts, block.get("is_error") is True))
        elif kind == "thinking":
            parts.append(Thinking(str(block.get("thinking") or ""), str_field(block, "signature", here)))
        elif kind == "redacted_thinking":
            continue  # encrypted for Anthropic alone; no other provider can read it
        else:
            raise Untranslatable(f"{here}type={kind}", "this content block has no translation")
    return tuple(parts)


def _system(raw: Any) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, list):
        texts = []
        for i, block in enumerate(raw):
            if not isinstance(block, Mapping) or block.get("type") != "text":
                raise Untranslatable(f"system[{i}]", "only text system blocks translate")
            texts.append(str(block.get("text") or ""))
        return "\n\n".join(texts)
    raise Untranslatable("system", "must be a string or a list of text blocks")


def _tools(raw: Any) -> tuple[Tool, ...]:
    tools = []
    for i, tool in enumerate(list_of(raw, "tools")):
        if not isinstance(tool, Mapping) or tool.get("type", "custom") != "custom":
            kind = tool.get("type") if isinstance(tool, Mapping) else None
            raise Untranslatable(f"tools[{i}].type={kind}", "server tools run at Anthropic only")
        name = str_field(tool, "name", f"tools[{i}].", required=True) or ""
        schema = tool.get("input_schema") or {"type": "object", "properties": {}}
        tools.append(
            Tool(name, str_field(tool, "description", f"tools[{i}]."), schema_of(schema, f"tools[{i}].input_schema"))
        )
    return tuple(tools)


def _tool_choice(raw: Any) -> ToolChoice | None:
    if raw is None:
        return None
    kind = raw.get("type") if isinstance(raw, Mapping) else None
    assert kind is None or isinstance(raw, Mapping)
    parallel = not (isinstance(raw, Mapping) and raw.get("disable_parallel_tool_use") is True)
    if kind == "auto":
        return ToolChoice("auto", parallel=parallel)
    if kind == "any":
        return ToolChoice("required", parallel=parallel)
    if kind == "none":
        return ToolChoice("none")
    if kind == "tool" and isinstance(raw, Mapping):
        return ToolChoice("tool", str(raw.get("name") or ""), parallel=parallel)
    raise Untranslatable(f"tool_choice.type={kind}", "unknown tool choice")


def _reasoning(thinking: Any, config: Mapping[str, Any]) -> Reasoning | None:
    effort = config.get("effort")
    if effort is not None and effort not in _EFFORTS:
        raise Untranslatable(f"output_config.effort={effort}", "unknown effort")
    kind = thinking.get("type") if isinstance(thinking, Mapping) else None
    if thinking is None or kind == "disabled":
        return Reasoning(effort=_EFFORTS[effort]) if effort else None
    if kind == "enabled" and isinstance(thinking, Mapping):
        return Reasoning(
            effort=_EFFORTS[effort] if effort else None, budget_tokens=int_field(thinking, "budget_tokens", "thinking.")
        )
    if kind == "adaptive":
        return Reasoning(effort=_EFFORTS[effort] if effort else "medium")
    raise Untranslatable(f"thinking.type={kind}", "unknown thinking mode")


def _response_format(body: Mapping[str, Any]) -> ResponseFormat | None:
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, Mapping) else None
    fmt = fmt if fmt is not None else body.get("output_format")
    if fmt is None:
        return None
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        return ResponseFormat("json_schema", schema_of(fmt.get("schema"), "output_config.format.schema"))
    raise Untranslatable("output_config.format", "only json_schema formats translate")


def decode_anthropic_request(body: Mapping[str, Any], route: ClientRoute) -> ChatRequest:
    """A Messages request → :class:`ChatRequest`."""
    check_keys(body, _HANDLED, _IGNORED)
    config = body.get("output_config") or {}
    if not isinstance(config, Mapping):
        raise Untranslatable("output_config", "must be an object")
    check_keys(config, frozenset({"format", "effort"}), frozenset(), "output_config.")
    names: dict[str, str] = {}
    messages = []
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise Untranslatable("messages", "must be a non-empty list")
    for i, msg in enumerate(raw):
        role = msg.get("role") if isinstance(msg, Mapping) else None
        if role not in ("user", "assistant") or not isinstance(msg, Mapping):
            raise Untranslatable(f"messages[{i}].role={role}", "unknown role")
        check_keys(msg, frozenset({"role", "content"}), frozenset(), f"messages[{i}].")
        messages.append(Message(role, _blocks(msg.get("content"), f"messages[{i}].", names)))
    stops = body.get("stop_sequences") or []
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise Untranslatable("stop_sequences", "must be a list of strings")
    return ChatRequest(
        model=str_field(body, "model", "", required=True) or "",
        messages=tuple(messages),
        system=_system(body.get("system")),
        tools=_tools(body.get("tools")),
        tool_choice=_tool_choice(body.get("tool_choice")),
        max_tokens=int_field(body, "max_tokens"),
        temperature=num_field(body, "temperature"),
        top_p=num_field(body, "top_p"),
        top_k=int_field(body, "top_k"),
        stop=tuple(stops),
        response_format=_response_format(body),
        reasoning=_reasoning(body.get("thinking"), config),
        stream=body.get("stream") is True,
        stream_usage=True,
    )


# -- encoding a provider request ----------------------------------------------------------


def _image_block(image: Image) -> dict[str, Any]:
    if image.data is not None:
        source = {"type": "base64", "media_type": image.media_type or "image/png", "data": image.data}
        return {"type": "image", "source": source}
    return {"type": "image", "source": {"type": "url", "url": image.url}}


def _encode_part(part: Part, where: str) -> dict[str, Any] | None:
    if isinstance(part, Text):
        return {"type": "text", "text": part.text} if part.text else None
    if isinstance(part, Image):
        return _image_block(part)
    if isinstance(part, ToolCall):
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": json_object(part.arguments, where)}
    if isinstance(part, ToolResult):
        content = [{"type": "text", "text": p.text} if isinstance(p, Text) else _image_block(p) for p in part.content]
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": part.call_id, "content": content}
        if part.is_error:
            block["is_error"] = True
        return block
    # Thinking goes back only with Anthropic's own signature; others' reasoning is not replayable.
    if part.signature:
        return {"type": "thinking", "thinking": part.text, "signature": part.signature}
    return None


def _encode_messages(req: ChatRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, msg in enumerate(req.messages):
        blocks = [b for p in msg.parts if (b := _encode_part(p, f"messages[{i}].tool_calls")) is not None]
        if msg.role == "user":  # tool results lead the user turn
            blocks.sort(key=lambda b: b["type"] != "tool_result")
        if out and out[-1]["role"] == msg.role:
            merged = out[-1]["content"] + blocks
            if msg.role == "user":
                merged.sort(key=lambda b: b["type"] != "tool_result")
            out[-1]["content"] = merged
        else:
            out.append({"role": msg.role, "content": blocks})
    return out


def encode_anthropic_request(req: ChatRequest, route: ProviderRoute) -> dict[str, Any]:
    """:class:`ChatRequest` → a Messages body."""
    for feature, value in (
        ("seed", req.seed),
        ("presence_penalty", req.presence_penalty),
        ("frequency_penalty", req.frequency_penalty),
    ):
        if value is not None:
            raise Untranslatable(feature, "Anthropic Messages has no such parameter")
    if req.n is not None and req.n != 1:
        raise Untranslatable("n", "Anthropic Messages returns one answer per call")
    body: dict[str, Any] = {
        "model": req.model,
        "max_tokens": req.max_tokens if req.max_tokens is not None else DEFAULT_MAX_TOKENS,
        "messages": _encode_messages(req),
    }
    if req.system:
        body["system"] = req.system
    put_present(body, (("temperature", req.temperature), ("top_p", req.top_p), ("top_k", req.top_k)))
    if req.stop:
        body["stop_sequences"] = list(req.stop)
    if req.tools:
        body["tools"] = [
            {"name": t.name, **({"description": t.description} if t.description else {}), "input_schema": t.parameters}
            for t in req.tools
        ]
    choice = req.tool_choice
    if choice is not None and (req.tools or choice.mode == "none"):
        kinds = {"auto": "auto", "none": "none", "required": "any", "tool": "tool"}
        encoded: dict[str, Any] = {"type": kinds[choice.mode]}
        if choice.mode == "tool":
            encoded["name"] = choice.name
        if not choice.parallel and choice.mode != "none":
            encoded["disable_parallel_tool_use"] = True
        body["tool_choice"] = encoded
    fmt = req.response_format
    if fmt is not None:
        if fmt.mode == "json":
            raise Untranslatable("response_format.type=json_object", "Anthropic needs a JSON schema (json_schema)")
        body["output_config"] = {"format": {"type": "json_schema", "schema": fmt.schema or {}}}
    if req.reasoning is not None:
        budget = req.reasoning.budget_tokens or THINKING_BUDGETS[req.reasoning.effort or "medium"]
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    if req.stream:
        body["stream"] = True
    return body
