"""Chat Completions requests: client request → neutral, neutral → provider request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .base import ClientRoute, ProviderRoute, Untranslatable, check_keys, list_of, schema_of
from .common import (
    data_url,
    image_from_url,
    int_field,
    num_field,
    put_present,
    str_field,
)
from .ir import (
    ChatRequest,
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

__all__ = ["decode_openai_request", "encode_openai_request"]

_HANDLED: Final = frozenset(
    {
        "model",
        "messages",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "n",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "response_format",
        "reasoning_effort",
        "stream",
        "stream_options",
        "logprobs",
    }
)
# Fields that never change the answer: bookkeeping for the provider, left out on purpose.
_IGNORED: Final = frozenset(
    {"user", "metadata", "store", "service_tier", "safety_identifier", "prompt_cache_key", "prompt_cache_retention"}
)
_MESSAGE_KEYS: Final = frozenset(
    {"role", "content", "tool_calls", "tool_call_id", "refusal", "reasoning_content", "function_call"}
)
_EFFORTS: Final = ("minimal", "low", "medium", "high")


# -- decoding a client request ------------------------------------------------------------


def _text_of(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for i, part in enumerate(content):
            if not isinstance(part, Mapping) or part.get("type") != "text":
                kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
                raise Untranslatable(f"{where}content[{i}].type={kind}", "only text is allowed here")
            texts.append(str(part.get("text") or ""))
        return "".join(texts)
    if content is None:
        return ""
    raise Untranslatable(f"{where}content", "must be a string or a list of parts")


def _user_parts(content: Any, where: str) -> tuple[Text | Image, ...]:
    if isinstance(content, str):
        return (Text(content),)
    if not isinstance(content, list):
        raise Untranslatable(f"{where}content", "must be a string or a list of parts")
    parts: list[Text | Image] = []
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text":
            parts.append(Text(str(part.get("text") or "")))
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, Mapping) else image
            if not isinstance(url, str):
                raise Untranslatable(f"{where}content[{i}].image_url", "must carry a url")
            parts.append(image_from_url(url))
        else:
            raise Untranslatable(f"{where}content[{i}].type={kind}", "the target format has no such input")
    return tuple(parts)


def _assistant_parts(msg: Mapping[str, Any], where: str, names: dict[str, str]) -> tuple[Part, ...]:
    if msg.get("function_call") is not None:
        raise Untranslatable(f"{where}function_call", "legacy function calls; use tool_calls")
    parts: list[Part] = []
    reasoning = msg.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        parts.append(Thinking(reasoning))
    content = msg.get("content")
    text = _text_of(content, where) if not isinstance(content, list) else _assistant_text(content, where)
    if text:
        parts.append(Text(text))
    for j, call in enumerate(list_of(msg.get("tool_calls"), f"{where}tool_calls")):
        fn = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(fn, Mapping) or call.get("type", "function") != "function":
            raise Untranslatable(f"{where}tool_calls[{j}]", "only function tool calls translate")
        call_id = str_field(call, "id", f"{where}tool_calls[{j}].", required=True) or ""
        name = str_field(fn, "name", f"{where}tool_calls[{j}].function.", required=True) or ""
        names[call_id] = name
        parts.append(ToolCall(call_id, name, str(fn.get("arguments") or "")))
    return tuple(parts)


def _assistant_text(content: list[Any], where: str) -> str:
    texts = []
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text":
            texts.append(str(part.get("text") or ""))
        elif kind == "refusal":
            texts.append(str(part.get("refusal") or ""))
        else:
            raise Untranslatable(f"{where}content[{i}].type={kind}", "the target format has no such content")
    return "".join(texts)


def _messages(raw: Any) -> tuple[str | None, tuple[Message, ...]]:
    if not isinstance(raw, list) or not raw:
        raise Untranslatable("messages", "must be a non-empty list")
    system: list[str] = []
    out: list[Message] = []
    names: dict[str, str] = {}
    for i, msg in enumerate(raw):
        where = f"messages[{i}]."
        if not isinstance(msg, Mapping):
            raise Untranslatable(f"messages[{i}]", "must be an object")
        check_keys(msg, _MESSAGE_KEYS, frozenset({"name"}), where)
        role = msg.get("role")
        if role in ("system", "developer"):
            if out:
                raise Untranslatable(f"messages[{i}].role={role}", "a system message after the conversation started")
            system.append(_text_of(msg.get("content"), where))
        elif role == "user":
            out.append(Message("user", _user_parts(msg.get("content"), where)))
        elif role == "assistant":
            out.append(Message("assistant", _assistant_parts(msg, where, names)))
        elif role == "tool":
            call_id = str_field(msg, "tool_call_id", where, required=True) or ""
            result = ToolResult(call_id, names.get(call_id), (Text(_text_of(msg.get("content"), where)),))
            if out and out[-1].role == "user" and all(isinstance(p, ToolResult) for p in out[-1].parts):
                out[-1] = Message("user", (*out[-1].parts, result))
            else:
                out.append(Message("user", (result,)))
        else:
            raise Untranslatable(f"messages[{i}].role={role}", "unknown role")
    return ("\n\n".join(system) if system else None), tuple(out)


def _tools(raw: Any) -> tuple[Tool, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise Untranslatable("tools", "must be a list")
    tools = []
    for i, tool in enumerate(raw):
        fn = tool.get("function") if isinstance(tool, Mapping) else None
        if not isinstance(fn, Mapping) or tool.get("type") != "function":
            kind = tool.get("type") if isinstance(tool, Mapping) else None
            raise Untranslatable(f"tools[{i}].type={kind}", "only function tools translate")
        params = fn.get("parameters") or {"type": "object", "properties": {}}
        name = str_field(fn, "name", f"tools[{i}].function.", required=True) or ""
        tools.append(
            Tool(
                name,
                str_field(fn, "description", f"tools[{i}].function."),
                schema_of(params, f"tools[{i}].function.parameters"),
            )
        )
    return tuple(tools)


def _tool_choice(raw: Any, parallel: Any) -> ToolChoice | None:
    par = parallel is not False
    if raw is None:
        return None if par else ToolChoice("auto", parallel=False)
    if raw in ("auto", "none", "required"):
        return ToolChoice(raw, parallel=par)
    if isinstance(raw, Mapping) and raw.get("type") == "function" and isinstance(raw.get("function"), Mapping):
        return ToolChoice("tool", str(raw["function"].get("name")), parallel=par)
    raise Untranslatable("tool_choice", "unknown tool choice")


def _response_format(raw: Any) -> ResponseFormat | None:
    if raw is None:
        return None
    kind = raw.get("type") if isinstance(raw, Mapping) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return ResponseFormat("json")
    if kind == "json_schema" and isinstance(raw.get("json_schema"), Mapping):
        spec = raw["json_schema"]
        return ResponseFormat(
            "json_schema",
            schema_of(spec.get("schema"), "response_format.json_schema.schema"),
            str_field(spec, "name", "json_schema."),
        )
    raise Untranslatable(f"response_format.type={kind}", "unknown response format")


def _stop(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list) and all(isinstance(s, str) for s in raw):
        return tuple(raw)
    raise Untranslatable("stop", "must be a string or a list of strings")


def _reasoning(raw: Any) -> Reasoning | None:
    if raw is None or raw == "none":
        return None
    if raw not in _EFFORTS:
        raise Untranslatable(f"reasoning_effort={raw}", "unknown effort")
    return Reasoning(effort=raw)


def decode_openai_request(body: Mapping[str, Any], route: ClientRoute) -> ChatRequest:
    """A Chat Completions request → :class:`ChatRequest`."""
    check_keys(body, _HANDLED, _IGNORED)
    if body.get("logprobs"):
        raise Untranslatable("logprobs", "the target format reports no log probabilities")
    system, messages = _messages(body.get("messages"))
    options = body.get("stream_options")
    stream = body.get("stream") is True
    return ChatRequest(
        model=str_field(body, "model", "", required=True) or "",
        messages=messages,
        system=system,
        tools=_tools(body.get("tools")),
        tool_choice=_tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls")),
        max_tokens=int_field(body, "max_completion_tokens") or int_field(body, "max_tokens"),
        temperature=num_field(body, "temperature"),
        top_p=num_field(body, "top_p"),
        stop=_stop(body.get("stop")),
        n=int_field(body, "n"),
        seed=int_field(body, "seed"),
        presence_penalty=num_field(body, "presence_penalty"),
        frequency_penalty=num_field(body, "frequency_penalty"),
        response_format=_response_format(body.get("response_format")),
        reasoning=_reasoning(body.get("reasoning_effort")),
        stream=stream,
        stream_usage=stream and isinstance(options, Mapping) and options.get("include_usage") is True,
    )


# -- encoding a provider request ----------------------------------------------------------


def _content(parts: list[Text | Image]) -> str | list[dict[str, Any]]:
    if all(isinstance(p, Text) for p in parts):
        return "".join(p.text for p in parts if isinstance(p, Text))
    out: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, Text):
            out.append({"type": "text", "text": p.text})
        else:
            out.append({"type": "image_url", "image_url": {"url": data_url(p)}})
    return out


def _result_text(result: ToolResult) -> str:
    if any(isinstance(p, Image) for p in result.content):
        raise Untranslatable("tool_result.image", "OpenAI tool messages carry text only")
    return ("[tool error] " if result.is_error else "") + result.text


def _encode_messages(req: ChatRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": req.system}] if req.system else []
    for msg in req.messages:
        if msg.role == "user":
            for part in msg.parts:
                if isinstance(part, ToolResult):
                    out.append({"role": "tool", "tool_call_id": part.call_id, "content": _result_text(part)})
            rest = [p for p in msg.parts if isinstance(p, Text | Image)]
            if rest:
                out.append({"role": "user", "content": _content(rest)})
            continue
        text = "".join(p.text for p in msg.parts if isinstance(p, Text))
        calls = [p for p in msg.parts if isinstance(p, ToolCall)]
        assistant: dict[str, Any] = {"role": "assistant", "content": text or None}
        if calls:
            assistant["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments or "{}"}}
                for c in calls
            ]
        out.append(assistant)
    return out


def _effort(reasoning: Reasoning) -> str:
    if reasoning.effort is not None:
        return reasoning.effort
    budget = reasoning.budget_tokens or 0
    return "low" if budget <= 2048 else "medium" if budget <= 8192 else "high"


def encode_openai_request(req: ChatRequest, route: ProviderRoute) -> dict[str, Any]:
    """:class:`ChatRequest` → a Chat Completions body (streams always ask for usage)."""
    if req.top_k is not None:
        raise Untranslatable("top_k", "Chat Completions has no top_k")
    body: dict[str, Any] = {"model": req.model, "messages": _encode_messages(req)}
    if req.max_tokens is not None:
        body["max_completion_tokens" if route.provider == "openai" else "max_tokens"] = req.max_tokens
    put_present(
        body,
        (
            ("temperature", req.temperature),
            ("top_p", req.top_p),
            ("n", req.n),
            ("seed", req.seed),
            ("presence_penalty", req.presence_penalty),
            ("frequency_penalty", req.frequency_penalty),
        ),
    )
    if req.stop:
        body["stop"] = list(req.stop)
    if req.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    **({"description": t.description} if t.description else {}),
                    "parameters": t.parameters,
                },
            }
            for t in req.tools
        ]
    choice = req.tool_choice
    if choice is not None:
        if choice.mode == "tool":
            body["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
        else:
            body["tool_choice"] = choice.mode
        if not choice.parallel and req.tools:
            body["parallel_tool_calls"] = False
    fmt = req.response_format
    if fmt is not None:
        if fmt.mode == "json":
            body["response_format"] = {"type": "json_object"}
        else:
            spec = {"name": fmt.name or "response", "schema": fmt.schema or {}}
            body["response_format"] = {"type": "json_schema", "json_schema": spec}
    if req.reasoning is not None:
        body["reasoning_effort"] = _effort(req.reasoning)
    if req.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body
