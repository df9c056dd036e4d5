"""Token plans and usage objects for OpenAI (chat, responses, embeddings, audio) (see :mod:`tests.fakes.usage`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .usage_core import (
    AUDIO_BYTES_PER_SECOND,
    AUDIO_TOKENS_PER_SECOND,
    BASE_OVERHEAD,
    DEFAULT_OUTPUT_WORDS,
    MEDIA_TOKENS,
    PER_MESSAGE,
    PER_TOOL,
    REASONING_MODEL_RE,
    REASONING_TOKENS,
    SPEECH_TOKENS_PER_WORD,
    Json,
    Plan,
    ToolCall,
    json_words,
    output_words,
    words,
)


def _openai_part_tokens(content: object) -> int:
    if isinstance(content, str):
        return words(content)
    total = 0
    if isinstance(content, list):
        for part in content:
            if not isinstance(part, Mapping):
                continue
            if "text" in part:
                total += words(part.get("text"))
            elif part.get("type") == "refusal":
                total += words(part.get("refusal"))
            else:
                total += MEDIA_TOKENS
    return total


def _openai_reasoning(model: object, effort: object) -> int:
    if effort == "none":
        return 0
    if effort is not None or (isinstance(model, str) and REASONING_MODEL_RE.match(model.rsplit("/", 1)[-1])):
        return REASONING_TOKENS
    return 0


def plan_openai_chat(req: Json) -> Plan:
    messages = req.get("messages") or []
    tools = [t for t in req.get("tools") or [] if isinstance(t, Mapping)]
    prompt = BASE_OVERHEAD + PER_TOOL * len(tools)
    for msg in messages:
        if not isinstance(msg, Mapping):
            continue
        prompt += PER_MESSAGE + _openai_part_tokens(msg.get("content"))
        for call in msg.get("tool_calls") or []:
            prompt += 1 + json_words((call.get("function") or {}).get("arguments", ""))
    limit = req.get("max_completion_tokens", req.get("max_tokens"))
    n, truncated = output_words(req, limit)
    tool = None
    choice = req.get("tool_choice")
    last_role = messages[-1].get("role") if messages and isinstance(messages[-1], Mapping) else None
    fn_tools = [t["function"] for t in tools if t.get("type") == "function" and "function" in t]
    if fn_tools and choice != "none" and last_role != "tool":
        wanted = choice.get("function", {}).get("name") if isinstance(choice, Mapping) else None
        fn = next((f for f in fn_tools if f.get("name") == wanted), fn_tools[0])
        tool = ToolCall(str(fn.get("name")), fn.get("parameters"))
    return Plan(
        prompt_tokens=prompt,
        text_words=0 if tool else n,
        tool=tool,
        truncated=truncated and not tool,
        reasoning_tokens=_openai_reasoning(req.get("model"), req.get("reasoning_effort")),
        cached_tokens=prompt // 2 if req.get("prompt_cache_key") else 0,
    )


def openai_chat_usage(plan: Plan) -> dict[str, Any]:
    return {
        "prompt_tokens": plan.prompt_tokens,
        "completion_tokens": plan.output_tokens,
        "total_tokens": plan.prompt_tokens + plan.output_tokens,
        "prompt_tokens_details": {"cached_tokens": plan.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": plan.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _responses_item_tokens(item: object) -> int:
    if isinstance(item, str):
        return PER_MESSAGE + words(item)
    if not isinstance(item, Mapping):
        return 0
    kind = item.get("type", "message")
    if kind == "message" or "role" in item:
        return PER_MESSAGE + _openai_part_tokens(item.get("content"))
    if kind == "function_call":
        return 1 + json_words(item.get("arguments", ""))
    if kind == "function_call_output":
        return json_words(item.get("output", ""))
    return 0


def plan_openai_responses(req: Json) -> Plan:
    items = req.get("input")
    items = [items] if isinstance(items, str) else list(items or [])
    tools = [t for t in req.get("tools") or [] if isinstance(t, Mapping)]
    prompt = BASE_OVERHEAD + words(req.get("instructions")) + PER_TOOL * len(tools)
    prompt += sum(_responses_item_tokens(i) for i in items)
    n, truncated = output_words(req, req.get("max_output_tokens"))
    tool = None
    choice = req.get("tool_choice")
    fn_tools = [t for t in tools if t.get("type") == "function"]
    last_type = items[-1].get("type") if items and isinstance(items[-1], Mapping) else None
    if fn_tools and choice != "none" and last_type != "function_call_output":
        wanted = choice.get("name") if isinstance(choice, Mapping) else None
        fn = next((f for f in fn_tools if f.get("name") == wanted), fn_tools[0])
        tool = ToolCall(str(fn.get("name")), fn.get("parameters"))
    reasoning = req.get("reasoning")
    effort = reasoning.get("effort", "medium") if isinstance(reasoning, Mapping) else None
    return Plan(
        prompt_tokens=prompt,
        text_words=0 if tool else n,
        tool=tool,
        truncated=truncated and not tool,
        reasoning_tokens=_openai_reasoning(req.get("model"), effort),
        cached_tokens=prompt // 2 if req.get("prompt_cache_key") else 0,
    )


def openai_responses_usage(plan: Plan) -> dict[str, Any]:
    return {
        "input_tokens": plan.prompt_tokens,
        "input_tokens_details": {"cached_tokens": plan.cached_tokens},
        "output_tokens": plan.output_tokens,
        "output_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
        "total_tokens": plan.prompt_tokens + plan.output_tokens,
    }


def embedding_inputs(req: Json) -> list[Any]:
    raw = req.get("input")
    if isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int)):
        return [raw]
    return list(raw) if isinstance(raw, list) else []


def openai_embeddings_usage(req: Json) -> dict[str, Any]:
    n = sum(len(x) if isinstance(x, list) else max(1, words(x)) for x in embedding_inputs(req))
    return {"prompt_tokens": n, "total_tokens": n}


def audio_seconds(file_size: int) -> int:
    return max(1, math.ceil(file_size / AUDIO_BYTES_PER_SECOND))


def openai_transcription_usage(req: Json) -> dict[str, Any]:
    """``req`` holds the form fields plus ``file_size`` (int) or ``file`` (bytes)."""
    size = req.get("file_size")
    if not isinstance(size, int):
        f = req.get("file")
        size = len(f) if isinstance(f, bytes | str) else 0
    seconds = audio_seconds(size)
    model = str(req.get("model") or "")
    if not model.startswith("gpt-4o"):
        return {"type": "duration", "seconds": seconds}
    text_in = words(req.get("prompt"))
    audio_in = seconds * AUDIO_TOKENS_PER_SECOND
    return {
        "type": "tokens",
        "input_tokens": text_in + audio_in,
        "input_token_details": {"text_tokens": text_in, "audio_tokens": audio_in},
        "output_tokens": DEFAULT_OUTPUT_WORDS,
        "total_tokens": text_in + audio_in + DEFAULT_OUTPUT_WORDS,
    }


def openai_speech_usage(req: Json) -> dict[str, Any]:
    """Reported only with ``stream_format: "sse"`` (``speech.audio.done``)."""
    n_in = max(1, words(req.get("input")))
    n_out = n_in * SPEECH_TOKENS_PER_WORD
    return {"input_tokens": n_in, "output_tokens": n_out, "total_tokens": n_in + n_out}
