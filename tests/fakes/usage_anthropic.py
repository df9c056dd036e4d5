"""Token plans and usage objects for Anthropic Messages (see :mod:`tests.fakes.usage`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from .usage_core import (
    BASE_OVERHEAD,
    MEDIA_TOKENS,
    PER_MESSAGE,
    PER_TOOL,
    THINKING_WORDS,
    Json,
    Plan,
    ToolCall,
    json_words,
    output_words,
    words,
)


def _anthropic_block_tokens(block: object) -> int:
    if isinstance(block, str):
        return words(block)
    if not isinstance(block, Mapping):
        return 0
    kind = block.get("type")
    if kind == "text":
        return words(block.get("text"))
    if kind == "thinking":
        return words(block.get("thinking"))
    if kind == "tool_use":
        return 1 + json_words(block.get("input", {}))
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            return sum(_anthropic_block_tokens(b) for b in content)
        return words(content)
    return MEDIA_TOKENS if kind in ("image", "document") else 0


def _anthropic_segments(req: Json) -> list[tuple[int, Any]]:
    """(tokens, cache_control) in Anthropic's cache order: tools, system, messages."""
    segs: list[tuple[int, Any]] = [
        (PER_TOOL, t.get("cache_control")) for t in req.get("tools") or [] if isinstance(t, Mapping)
    ]
    system = req.get("system")
    if isinstance(system, str):
        segs.append((words(system), None))
    elif isinstance(system, list):
        segs += [(_anthropic_block_tokens(b), b.get("cache_control")) for b in system if isinstance(b, Mapping)]
    for msg in req.get("messages") or []:
        if not isinstance(msg, Mapping):
            continue
        content = msg.get("content")
        if isinstance(content, list):
            segs.append((PER_MESSAGE, None))
            for b in content:
                cc = b.get("cache_control") if isinstance(b, Mapping) else None
                segs.append((_anthropic_block_tokens(b), cc))
        else:
            segs.append((PER_MESSAGE + words(content), None))
    return segs


def plan_anthropic(req: Json) -> Plan:
    segs = _anthropic_segments(req)
    total = BASE_OVERHEAD + sum(t for t, _ in segs)
    marks = [i for i, (_, cc) in enumerate(segs) if cc]
    last_cc: Any = req.get("cache_control") if req.get("cache_control") else None
    prefix = 0
    if last_cc:
        prefix = sum(t for t, _ in segs)
    elif marks:
        prefix = sum(t for t, _ in segs[: marks[-1] + 1])
        last_cc = segs[marks[-1]][1]
    write = prefix > 0 and b"fake-cache=write" in orjson.dumps(req)
    thinking = req.get("thinking")
    thinks = isinstance(thinking, Mapping) and thinking.get("type") in ("enabled", "adaptive")
    n, truncated = output_words(req, req.get("max_tokens"))
    tool = None
    tools = [t for t in req.get("tools") or [] if isinstance(t, Mapping) and "input_schema" in t]
    raw_choice = req.get("tool_choice")
    choice: Mapping[str, Any] = raw_choice if isinstance(raw_choice, Mapping) else {}
    messages = req.get("messages") or []
    last = messages[-1].get("content") if messages and isinstance(messages[-1], Mapping) else None
    after_result = isinstance(last, list) and any(
        isinstance(b, Mapping) and b.get("type") == "tool_result" for b in last
    )
    if tools and choice.get("type") != "none" and not after_result:
        tool_def = next((t for t in tools if t.get("name") == choice.get("name")), tools[0])
        tool = ToolCall(str(tool_def.get("name")), tool_def.get("input_schema"))
    return Plan(
        prompt_tokens=total - prefix,
        text_words=0 if tool else n,
        tool=tool,
        truncated=truncated and not tool,
        reasoning_tokens=THINKING_WORDS if thinks else 0,
        cached_tokens=0 if write else prefix,
        cache_write_tokens=prefix if write else 0,
        cache_write_1h=isinstance(last_cc, Mapping) and last_cc.get("ttl") == "1h",
    )


def anthropic_usage(plan: Plan, *, output_tokens: int | None = None) -> dict[str, Any]:
    w1h = plan.cache_write_tokens if plan.cache_write_1h else 0
    usage: dict[str, Any] = {
        "input_tokens": plan.prompt_tokens,
        "cache_creation_input_tokens": plan.cache_write_tokens,
        "cache_read_input_tokens": plan.cached_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": plan.cache_write_tokens - w1h,
            "ephemeral_1h_input_tokens": w1h,
        },
        "output_tokens": plan.output_tokens if output_tokens is None else output_tokens,
        "service_tier": "standard",
        "inference_geo": "not_available",
    }
    if plan.reasoning_tokens:
        usage["output_tokens_details"] = {"thinking_tokens": plan.reasoning_tokens}
    return usage
