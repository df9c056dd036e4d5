"""Gemini generateContent requests: client request → neutral, neutral → provider request."""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from typing import Any, Final

from .base import ClientRoute, ProviderRoute, Untranslatable, check_keys, list_of, schema_of
from .common import dumps, int_field, json_object, loads_object, num_field, put_present
from .gemini_fields import (
    camel,
    gget,
    json_schema_of,
)
from .ir import (
    ChatRequest,
    IdMap,
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

__all__ = ["THINKING_BUDGETS", "decode_gemini_request", "encode_gemini_request"]

THINKING_BUDGETS: Final = {"minimal": 512, "low": 2048, "medium": 8192, "high": 24576}
_HANDLED: Final = frozenset({"contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "model"})
# safetySettings only tune Gemini's own filters; labels are billing tags.
_IGNORED: Final = frozenset({"safetySettings", "labels"})
_CONFIG: Final = frozenset(
    {
        "temperature",
        "topP",
        "topK",
        "maxOutputTokens",
        "stopSequences",
        "candidateCount",
        "responseMimeType",
        "responseSchema",
        "responseJsonSchema",
        "seed",
        "presencePenalty",
        "frequencyPenalty",
        "thinkingConfig",
        "responseModalities",
    }
)
_GC: Final = "generationConfig."
_SKIP_SIGNATURE: Final = "skip_thought_signature_validator"
"""Google's documented placeholder for function calls that Gemini 3 did not produce itself."""


# -- decoding a client request ----------------------------------------------------------


def _camel_keys(obj: Any) -> dict[str, Any]:
    return {camel(k): v for k, v in obj.items()} if isinstance(obj, Mapping) else {}


def _image(blob: Mapping[str, Any], where: str, *, inline: bool) -> Image:
    mime = str(gget(blob, "mimeType") or "")
    if not mime.startswith("image/"):
        raise Untranslatable(f"{where}mimeType={mime}", "only images translate")
    if inline:
        return Image(media_type=mime, data=str(gget(blob, "data") or ""))
    return Image(media_type=mime, url=str(gget(blob, "fileUri") or ""))


class _Calls:
    """Ids for id-less function calls, and the matching of responses to calls."""

    def __init__(self) -> None:
        self.ids = IdMap()
        self.pending: list[tuple[str, str]] = []

    def call(self, call: Mapping[str, Any]) -> ToolCall:
        name = str(gget(call, "name") or "")
        call_id = str(gget(call, "id") or "") or self.ids.new(name)
        self.pending.append((call_id, name))
        return ToolCall(call_id, name, dumps(gget(call, "args") or {}).decode())

    def result(self, resp: Mapping[str, Any]) -> ToolResult:
        name = str(gget(resp, "name") or "")
        call_id = str(gget(resp, "id") or "")
        match = next((p for p in self.pending if (p[0] == call_id if call_id else p[1] == name)), None)
        if match is not None:
            self.pending.remove(match)
            call_id = match[0]
        elif not call_id:
            call_id = self.ids.new(name)
        response = gget(resp, "response")
        error = isinstance(response, Mapping) and set(response) == {"error"}
        return ToolResult(call_id, name, (Text(dumps(response if response is not None else {}).decode()),), error)


def _parts(raw: Any, where: str, calls: _Calls) -> tuple[Part, ...]:
    parts: list[Part] = []
    for i, part in enumerate(list_of(raw, f"{where}parts")):
        here = f"{where}parts[{i}]."
        if not isinstance(part, Mapping):
            raise Untranslatable(f"{where}parts[{i}]", "must be an object")
        if isinstance(gget(part, "text"), str):
            text = gget(part, "text")
            parts.append(Thinking(text) if gget(part, "thought") is True else Text(text))
        elif isinstance(gget(part, "inlineData"), Mapping):
            parts.append(_image(gget(part, "inlineData"), f"{here}inlineData.", inline=True))
        elif isinstance(gget(part, "fileData"), Mapping):
            parts.append(_image(gget(part, "fileData"), f"{here}fileData.", inline=False))
        elif isinstance(gget(part, "functionCall"), Mapping):
            parts.append(calls.call(gget(part, "functionCall")))
        elif isinstance(gget(part, "functionResponse"), Mapping):
            parts.append(calls.result(gget(part, "functionResponse")))
        else:
            kinds = [camel(k) for k in part if k not in ("thoughtSignature", "thought_signature")]
            raise Untranslatable(f"{here}{'/'.join(kinds) or 'empty'}", "this part has no translation")
    return tuple(parts)


def _tools(raw: Any) -> tuple[Tool, ...]:
    tools: list[Tool] = []
    for i, tool in enumerate(list_of(raw, "tools")):
        keys = set(_camel_keys(tool))
        if not keys:
            continue  # an empty tool declares nothing
        if keys != {"functionDeclarations"}:
            raise Untranslatable(
                f"tools[{i}].{'/'.join(sorted(keys - {'functionDeclarations'}))}", "only functions translate"
            )
        for j, decl in enumerate(list_of(gget(tool, "functionDeclarations"), f"tools[{i}].functionDeclarations")):
            schema = gget(decl, "parametersJsonSchema")
            if schema is None:
                schema = json_schema_of(gget(decl, "parameters") or {"type": "object", "properties": {}})
            name = gget(decl, "name")
            if not isinstance(name, str):
                raise Untranslatable(f"tools[{i}].functionDeclarations[{j}].name", "required")
            tools.append(
                Tool(
                    name,
                    gget(decl, "description"),
                    schema_of(schema, f"tools[{i}].functionDeclarations[{j}].parameters"),
                )
            )
    return tuple(tools)


def _tool_choice(raw: Any) -> ToolChoice | None:
    config = gget(raw, "functionCallingConfig")
    if not isinstance(config, Mapping):
        return None
    mode = str(gget(config, "mode") or "AUTO")
    allowed = gget(config, "allowedFunctionNames") or []
    if mode == "AUTO" and not allowed:
        return ToolChoice("auto")
    if mode == "NONE":
        return ToolChoice("none")
    if mode in ("ANY", "VALIDATED"):
        if not allowed:
            return ToolChoice("required")
        if len(allowed) == 1:
            return ToolChoice("tool", str(allowed[0]))
    raise Untranslatable("toolConfig.functionCallingConfig", f"mode {mode} with allowedFunctionNames {allowed}")


def _reasoning(config: Any) -> Reasoning | None:
    config = _camel_keys(config)
    if not config:
        return None
    budget = config.get("thinkingBudget")
    level = config.get("thinkingLevel")
    if budget == 0:
        return None
    effort = str(level).lower() if level is not None else None
    if effort not in (None, "minimal", "low", "medium", "high"):
        raise Untranslatable(f"thinkingConfig.thinkingLevel={level}", "unknown level")
    budget_tokens = budget if isinstance(budget, int) and budget > 0 else None
    include = config.get("includeThoughts") is True
    return Reasoning(effort=effort, budget_tokens=budget_tokens, include_thoughts=include)  # type: ignore[arg-type]


def _response_format(config: Mapping[str, Any]) -> ResponseFormat | None:
    mime = config.get("responseMimeType")
    schema = config.get("responseJsonSchema")
    if schema is None and config.get("responseSchema") is not None:
        schema = json_schema_of(config["responseSchema"])
    if mime in (None, "text/plain"):
        if schema is not None:
            raise Untranslatable("generationConfig.responseSchema", "needs responseMimeType application/json")
        return None
    if mime != "application/json":
        raise Untranslatable(f"generationConfig.responseMimeType={mime}", "only JSON and text translate")
    return (
        ResponseFormat("json_schema", schema_of(schema, "generationConfig.responseJsonSchema"))
        if schema is not None
        else ResponseFormat("json")
    )


def decode_gemini_request(body: Mapping[str, Any], route: ClientRoute) -> ChatRequest:
    """A ``generateContent`` request (model and stream from the URL) → :class:`ChatRequest`."""
    top = _camel_keys(body)
    check_keys(top, _HANDLED, _IGNORED)
    config = _camel_keys(top.get("generationConfig"))
    check_keys(config, _CONFIG, frozenset(), "generationConfig.")
    modalities = config.get("responseModalities")
    if modalities is not None and [str(m).upper() for m in modalities] != ["TEXT"]:
        raise Untranslatable("generationConfig.responseModalities", "only TEXT translates")
    model = route.model or (str(top["model"]).removeprefix("models/") if top.get("model") else None)
    if not model:
        raise Untranslatable("model", "the URL names no models/{model}:generateContent")
    calls = _Calls()
    messages = []
    raw = top.get("contents")
    if isinstance(raw, Mapping | str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise Untranslatable("contents", "must be a non-empty list")
    for i, content in enumerate(raw):
        if isinstance(content, str):
            messages.append(Message("user", (Text(content),)))
            continue
        check_keys(_camel_keys(content), frozenset({"role", "parts"}), frozenset(), f"contents[{i}].")
        role = gget(content, "role") or "user"
        if role not in ("user", "model", "function"):
            raise Untranslatable(f"contents[{i}].role={role}", "unknown role")
        parts = _parts(gget(content, "parts"), f"contents[{i}].", calls)
        messages.append(Message("assistant" if role == "model" else "user", parts))
    system = gget(top.get("systemInstruction"), "parts")
    system_text = None
    if system is not None or isinstance(top.get("systemInstruction"), str):
        sys_parts = (
            _parts(system, "systemInstruction.", calls) if system is not None else (Text(top["systemInstruction"]),)
        )
        if not all(isinstance(p, Text) for p in sys_parts):
            raise Untranslatable("systemInstruction", "only text translates")
        system_text = "".join(p.text for p in sys_parts if isinstance(p, Text))
    stops = config.get("stopSequences") or []
    if not isinstance(stops, list) or not all(isinstance(x, str) for x in stops):
        raise Untranslatable("generationConfig.stopSequences", "must be a list of strings")
    return ChatRequest(
        model=model,
        messages=tuple(messages),
        system=system_text,
        tools=_tools(top.get("tools")),
        tool_choice=_tool_choice(top.get("toolConfig")),
        max_tokens=int_field(config, "maxOutputTokens", _GC),
        temperature=num_field(config, "temperature", _GC),
        top_p=num_field(config, "topP", _GC),
        top_k=int_field(config, "topK", _GC),
        stop=tuple(str(s) for s in stops),
        n=int_field(config, "candidateCount", _GC),
        seed=int_field(config, "seed", _GC),
        presence_penalty=num_field(config, "presencePenalty", _GC),
        frequency_penalty=num_field(config, "frequencyPenalty", _GC),
        response_format=_response_format(config),
        reasoning=_reasoning(config.get("thinkingConfig")),
        stream=route.stream,
        stream_usage=True,
    )


# -- encoding a provider request ----------------------------------------------------------


def _image_part(image: Image) -> dict[str, Any]:
    if image.data is not None:
        return {"inlineData": {"mimeType": image.media_type or "image/png", "data": image.data}}
    mime = image.media_type or mimetypes.guess_type(image.url or "")[0] or "image/jpeg"
    return {"fileData": {"mimeType": mime, "fileUri": image.url}}


def _encode_part(part: Part, where: str, signature: bool) -> dict[str, Any] | None:
    if isinstance(part, Text):
        return {"text": part.text}
    if isinstance(part, Image):
        return _image_part(part)
    if isinstance(part, ToolCall):
        encoded: dict[str, Any] = {"functionCall": {"name": part.name, "args": json_object(part.arguments, where)}}
        if signature:
            encoded["thoughtSignature"] = _SKIP_SIGNATURE
        return encoded
    if isinstance(part, ToolResult):
        if part.name is None:
            raise Untranslatable(f"{where}tool_result", f"no earlier tool call has the id {part.call_id!r}")
        if any(isinstance(p, Image) for p in part.content):
            raise Untranslatable(f"{where}tool_result.image", "Gemini function responses carry JSON only")
        value = loads_object(part.text) if part.text.strip().startswith("{") else None
        response = value if value is not None else {"error" if part.is_error else "result": part.text}
        return {"functionResponse": {"name": part.name, "response": response}}
    return None  # other providers' reasoning cannot be replayed to Gemini


def encode_gemini_request(req: ChatRequest, route: ProviderRoute) -> dict[str, Any]:
    """:class:`ChatRequest` → a ``generateContent`` body (the model is in the route's path)."""
    signature = "/models/gemini-3" in route.path
    contents = []
    for i, msg in enumerate(req.messages):
        parts = [p for part in msg.parts if (p := _encode_part(part, f"messages[{i}].", signature)) is not None]
        contents.append({"role": "model" if msg.role == "assistant" else "user", "parts": parts})
    body: dict[str, Any] = {"contents": contents}
    if req.system:
        body["systemInstruction"] = {"parts": [{"text": req.system}]}
    if req.tools:
        decls = [
            {
                "name": t.name,
                **({"description": t.description} if t.description else {}),
                "parametersJsonSchema": t.parameters,
            }
            for t in req.tools
        ]
        body["tools"] = [{"functionDeclarations": decls}]
    choice = req.tool_choice
    if choice is not None:
        if not choice.parallel:
            raise Untranslatable("parallel_tool_calls", "Gemini cannot be limited to one call per turn")
        modes = {"auto": "AUTO", "none": "NONE", "required": "ANY", "tool": "ANY"}
        fcc: dict[str, Any] = {"mode": modes[choice.mode]}
        if choice.mode == "tool":
            fcc["allowedFunctionNames"] = [choice.name]
        body["toolConfig"] = {"functionCallingConfig": fcc}
    config: dict[str, Any] = {}
    put_present(
        config,
        (
            ("maxOutputTokens", req.max_tokens),
            ("temperature", req.temperature),
            ("topP", req.top_p),
            ("topK", req.top_k),
            ("candidateCount", req.n),
            ("seed", req.seed),
            ("presencePenalty", req.presence_penalty),
            ("frequencyPenalty", req.frequency_penalty),
        ),
    )
    if req.stop:
        config["stopSequences"] = list(req.stop)
    if req.response_format is not None:
        config["responseMimeType"] = "application/json"
        if req.response_format.schema is not None:
            config["responseJsonSchema"] = req.response_format.schema
    if req.reasoning is not None:
        r = req.reasoning
        budget = r.budget_tokens or THINKING_BUDGETS[r.effort or "medium"]
        config["thinkingConfig"] = {"thinkingBudget": budget, "includeThoughts": True}
    if config:
        body["generationConfig"] = config
    return body
