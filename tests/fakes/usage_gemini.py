"""Token plans and usage objects for Google Gemini (see :mod:`tests.fakes.usage`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .usage_core import (
    BASE_OVERHEAD,
    GEMINI_THOUGHTS_TOKENS,
    MEDIA_TOKENS,
    PER_MESSAGE,
    PER_TOOL,
    TOOL_CALL_TOKENS,
    Json,
    Plan,
    ToolCall,
    gget,
    json_words,
    output_words,
    words,
)


def _gemini_parts_tokens(parts: object) -> int:
    total = 0
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, Mapping):
            continue
        if "text" in part:
            total += words(part.get("text"))
        elif (call := gget(part, "functionCall")) is not None:
            total += 1 + json_words(gget(call, "args", {}))
        elif (resp := gget(part, "functionResponse")) is not None:
            total += json_words(gget(resp, "response", {}))
        elif gget(part, "inlineData") is not None or gget(part, "fileData") is not None:
            total += MEDIA_TOKENS
    return total


def plan_gemini(req: Json) -> Plan:
    contents = [c for c in gget(req, "contents") or [] if isinstance(c, Mapping)]
    decls = [
        d
        for tool in gget(req, "tools") or []
        for d in gget(tool, "functionDeclarations") or []
        if isinstance(d, Mapping)
    ]
    system = gget(req, "systemInstruction")
    prompt = BASE_OVERHEAD + PER_TOOL * len(decls)
    prompt += _gemini_parts_tokens(gget(system, "parts"))
    prompt += sum(PER_MESSAGE + _gemini_parts_tokens(c.get("parts")) for c in contents)
    config = gget(req, "generationConfig") or {}
    n, truncated = output_words(req, gget(config, "maxOutputTokens"))
    thinking = gget(config, "thinkingConfig")
    thinks = isinstance(thinking, Mapping) and gget(thinking, "thinkingBudget") != 0
    fcc = gget(gget(req, "toolConfig"), "functionCallingConfig") or {}
    last_parts = contents[-1].get("parts") if contents else None
    after_response = isinstance(last_parts, list) and any(gget(p, "functionResponse") is not None for p in last_parts)
    tool = None
    if decls and gget(fcc, "mode") != "NONE" and not after_response:
        allowed = gget(fcc, "allowedFunctionNames") or []
        decl = next((d for d in decls if d.get("name") in allowed), decls[0])
        tool = ToolCall(str(decl.get("name")), gget(decl, "parametersJsonSchema", gget(decl, "parameters")))
    return Plan(
        prompt_tokens=prompt,
        text_words=0 if tool else n,
        tool=tool,
        truncated=truncated and not tool,
        reasoning_tokens=GEMINI_THOUGHTS_TOKENS if thinks else 0,
        cached_tokens=prompt // 2 if gget(req, "cachedContent") else 0,
    )


def gemini_usage(plan: Plan, *, candidates: int | None = None, thoughts: bool = True) -> dict[str, Any]:
    """``candidates``/``thoughts`` let a stream report cumulative usage part way through."""
    cand = (TOOL_CALL_TOKENS if plan.tool else plan.text_words) if candidates is None else candidates
    th = plan.reasoning_tokens if thoughts else 0
    usage: dict[str, Any] = {"promptTokenCount": plan.prompt_tokens}
    if cand:
        usage["candidatesTokenCount"] = cand
    usage["totalTokenCount"] = plan.prompt_tokens + cand + th
    if plan.cached_tokens:
        usage["cachedContentTokenCount"] = plan.cached_tokens
    usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": plan.prompt_tokens}]
    if plan.cached_tokens:
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": plan.cached_tokens}]
    if th:
        usage["thoughtsTokenCount"] = th
    return usage
