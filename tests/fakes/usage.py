"""Deterministic token accounting for the fake upstreams. Pure functions, no I/O.

The fakes never guess: every number they report comes from a :class:`Plan` computed here from the
request JSON alone, so any test can call :func:`expected_usage` / :func:`expected_raw_usage` with
the same request body and get exactly what the fake will report.

Rules (``words(x)`` = number of whitespace-separated words in ``x``):

- prompt = ``BASE_OVERHEAD`` (3) + for each message/content/input item ``PER_MESSAGE`` (3) + the
  words of its text parts (+ ``MEDIA_TOKENS`` (85) per image/audio/file part, + 1 + words of the
  JSON arguments for each tool call / tool result) + ``PER_TOOL`` (8) per declared tool, plus the
  words of the system prompt / instructions.
- generated text = ``DEFAULT_OUTPUT_WORDS`` (12) lorem words, or N if ``fake-words=N`` appears
  anywhere in the request, capped by max_tokens / max_completion_tokens / max_output_tokens /
  maxOutputTokens (then finish reason is ``length`` / ``max_tokens`` / ``MAX_TOKENS``).
- a tool call costs ``TOOL_CALL_TOKENS`` (12) output tokens. The fake calls a tool when the request
  declares function tools, tool choice is not "none", and the last message is not a tool result.
- reasoning: OpenAI ``reasoning_effort`` / Responses ``reasoning`` (effort not "none"), or an
  ``o<digit>``/``gpt-5`` model → ``REASONING_TOKENS`` (32), included in completion/output tokens.
  Anthropic ``thinking`` → a thinking block of ``THINKING_WORDS`` (16) words, included in
  output_tokens and reported as ``output_tokens_details.thinking_tokens``. Gemini
  ``generationConfig.thinkingConfig`` (budget not 0) → ``thoughtsTokenCount`` = 24.
- caching: OpenAI ``prompt_cache_key`` → cached_tokens = prompt // 2. Gemini ``cachedContent``
  → cachedContentTokenCount = prompt // 2. Anthropic: everything up to the last block carrying
  ``cache_control`` (or all of it for a top-level ``cache_control``) is a cache *read*; if the
  request contains ``fake-cache=write`` it is a cache *write* instead (``ttl: "1h"`` → 1h bucket).
"""

from __future__ import annotations

from typing import Any

from .usage_anthropic import anthropic_usage, plan_anthropic
from .usage_core import (
    AUDIO_BYTES_PER_SECOND,
    AUDIO_TOKENS_PER_SECOND,
    BASE_OVERHEAD,
    DEFAULT_OUTPUT_WORDS,
    GEMINI_THOUGHTS_TOKENS,
    MAX_OUTPUT_WORDS,
    MEDIA_TOKENS,
    PER_MESSAGE,
    PER_TOOL,
    REASONING_TOKENS,
    SPEECH_TOKENS_PER_WORD,
    THINKING_WORDS,
    TOOL_CALL_TOKENS,
    Json,
    Plan,
    ToolCall,
    gget,
    words,
)
from .usage_gemini import gemini_usage, plan_gemini
from .usage_openai import (
    audio_seconds,
    embedding_inputs,
    openai_chat_usage,
    openai_embeddings_usage,
    openai_responses_usage,
    openai_speech_usage,
    openai_transcription_usage,
    plan_openai_chat,
    plan_openai_responses,
)

__all__ = [
    "AUDIO_BYTES_PER_SECOND",
    "AUDIO_TOKENS_PER_SECOND",
    "BASE_OVERHEAD",
    "DEFAULT_OUTPUT_WORDS",
    "GEMINI_THOUGHTS_TOKENS",
    "Json",
    "MAX_OUTPUT_WORDS",
    "MEDIA_TOKENS",
    "PER_MESSAGE",
    "PER_TOOL",
    "Plan",
    "REASONING_TOKENS",
    "SPEECH_TOKENS_PER_WORD",
    "THINKING_WORDS",
    "TOOL_CALL_TOKENS",
    "ToolCall",
    "anthropic_usage",
    "audio_seconds",
    "embedding_inputs",
    "expected_raw_usage",
    "expected_usage",
    "gemini_usage",
    "gget",
    "openai_chat_usage",
    "openai_embeddings_usage",
    "openai_responses_usage",
    "openai_speech_usage",
    "openai_transcription_usage",
    "plan_anthropic",
    "plan_gemini",
    "plan_openai_chat",
    "plan_openai_responses",
    "words",
]

_ALIASES = {
    "openai.chat": "openai.chat_completions",
    "anthropic": "anthropic.messages",
    "google": "google.generate_content",
    "gemini": "google.generate_content",
    "google.stream_generate_content": "google.generate_content",
    "openai.transcriptions": "openai.audio_transcriptions",
    "openai.speech": "openai.audio_speech",
}


def _resolve_api(provider: str, req: Json) -> str:
    api = _ALIASES.get(provider, provider)
    if api != "openai":
        return api
    if "messages" in req:
        return "openai.chat_completions"
    if "file" in req or "file_size" in req:
        return "openai.audio_transcriptions"
    if "voice" in req:
        return "openai.audio_speech"
    if "embed" in str(req.get("model", "")):
        return "openai.embeddings"
    return "openai.responses"


def expected_raw_usage(provider: str, request_json: Json) -> dict[str, Any]:
    """The provider-native usage object the fake reports (final/cumulative) for this request.

    ``provider``: ``openai`` (endpoint guessed from the body), ``openai.chat_completions``,
    ``openai.responses``, ``openai.embeddings``, ``openai.audio_transcriptions`` (body = form
    fields + ``file_size``), ``openai.audio_speech``, ``anthropic[.messages]``,
    ``gemini``/``google[.generate_content|.stream_generate_content]``.
    """
    api = _resolve_api(provider, request_json)
    if api == "openai.chat_completions":
        return openai_chat_usage(plan_openai_chat(request_json))
    if api == "openai.responses":
        return openai_responses_usage(plan_openai_responses(request_json))
    if api == "openai.embeddings":
        return openai_embeddings_usage(request_json)
    if api == "openai.audio_transcriptions":
        return openai_transcription_usage(request_json)
    if api == "openai.audio_speech":
        return openai_speech_usage(request_json)
    if api == "anthropic.messages":
        return anthropic_usage(plan_anthropic(request_json))
    if api == "google.generate_content":
        return gemini_usage(plan_gemini(request_json))
    raise ValueError(f"unknown provider/api {provider!r}")


def expected_usage(provider: str, request_json: Json) -> dict[str, int | None]:
    """The six normalized fields, with the same meaning as ``expected_usage`` in the samples'
    manifest.jsonl (each field keeps the provider's own semantics; ``None`` = not reported)."""
    api = _resolve_api(provider, request_json)
    raw = expected_raw_usage(api, request_json)
    out: dict[str, int | None] = dict.fromkeys(
        (
            "input_tokens",
            "output_tokens",
            "cached_input_tokens",
            "cache_creation_input_tokens",
            "reasoning_tokens",
            "total_tokens",
        )
    )
    if api == "openai.chat_completions":
        out.update(
            input_tokens=raw["prompt_tokens"],
            output_tokens=raw["completion_tokens"],
            cached_input_tokens=raw["prompt_tokens_details"]["cached_tokens"],
            reasoning_tokens=raw["completion_tokens_details"]["reasoning_tokens"],
            total_tokens=raw["total_tokens"],
        )
    elif api == "openai.responses":
        out.update(
            input_tokens=raw["input_tokens"],
            output_tokens=raw["output_tokens"],
            cached_input_tokens=raw["input_tokens_details"]["cached_tokens"],
            reasoning_tokens=raw["output_tokens_details"]["reasoning_tokens"],
            total_tokens=raw["total_tokens"],
        )
    elif api == "openai.embeddings":
        out.update(input_tokens=raw["prompt_tokens"], total_tokens=raw["total_tokens"])
    elif api in ("openai.audio_speech", "openai.audio_transcriptions") and "input_tokens" in raw:
        out.update(
            input_tokens=raw["input_tokens"],
            output_tokens=raw["output_tokens"],
            total_tokens=raw["total_tokens"],
        )
    elif api == "anthropic.messages":
        out.update(
            input_tokens=raw["input_tokens"],
            output_tokens=raw["output_tokens"],
            cached_input_tokens=raw["cache_read_input_tokens"],
            cache_creation_input_tokens=raw["cache_creation_input_tokens"],
            reasoning_tokens=raw.get("output_tokens_details", {}).get("thinking_tokens"),
        )
    elif api == "google.generate_content":
        out.update(
            input_tokens=raw["promptTokenCount"],
            output_tokens=raw.get("candidatesTokenCount"),
            cached_input_tokens=raw.get("cachedContentTokenCount"),
            reasoning_tokens=raw.get("thoughtsTokenCount"),
            total_tokens=raw["totalTokenCount"],
        )
    return out
