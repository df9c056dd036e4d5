"""``expected_usage`` is a pure function with the manifest's field semantics."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes import expected_raw_usage, expected_usage
from tests.fakes import usage as u

word = st.text(alphabet="abcdefghij", min_size=1, max_size=6)
sentence = st.lists(word, min_size=0, max_size=12).map(" ".join)
messages = st.lists(sentence, min_size=1, max_size=5)


@settings(max_examples=60, deadline=None)
@given(messages, st.integers(min_value=1, max_value=40))
def test_openai_chat_rule(texts: list[str], limit: int) -> None:
    req = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": t} for t in texts], "max_tokens": limit}
    got = expected_usage("openai", req)
    assert got["input_tokens"] == 3 + sum(3 + len(t.split()) for t in texts)
    assert got["output_tokens"] == min(limit, u.DEFAULT_OUTPUT_WORDS)
    assert got["total_tokens"] == got["input_tokens"] + got["output_tokens"]
    assert got["cached_input_tokens"] == 0 and got["reasoning_tokens"] == 0
    assert got["cache_creation_input_tokens"] is None


@settings(max_examples=60, deadline=None)
@given(messages, st.sampled_from([None, "5m", "1h"]), st.booleans())
def test_anthropic_cache_split_conserves_tokens(texts: list[str], ttl: str | None, write: bool) -> None:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": t} for t in texts]
    plain = {"model": "c", "max_tokens": 100, "messages": [{"role": "user", "content": blocks}]}
    total = expected_usage("anthropic", plain)["input_tokens"]
    assert total is not None
    if ttl is not None:
        blocks[-1]["cache_control"] = {"type": "ephemeral", "ttl": ttl}
    if write:
        blocks.append({"type": "text", "text": "fake-cache=write"})
    req = {**plain, "messages": [{"role": "user", "content": blocks}]}
    got = expected_raw_usage("anthropic", req)
    extra = 1 if write else 0
    assert got["input_tokens"] + got["cache_read_input_tokens"] + got["cache_creation_input_tokens"] == total + extra
    assert got["input_tokens"] >= 3
    c = got["cache_creation"]
    assert c["ephemeral_5m_input_tokens"] + c["ephemeral_1h_input_tokens"] == got["cache_creation_input_tokens"]
    if ttl is None:
        assert got["cache_read_input_tokens"] == got["cache_creation_input_tokens"] == 0
    elif write:
        assert got["cache_read_input_tokens"] == 0 and got["cache_creation_input_tokens"] > 0
        assert (c["ephemeral_1h_input_tokens"] > 0) == (ttl == "1h")
    else:
        assert got["cache_read_input_tokens"] > 0 and got["cache_creation_input_tokens"] == 0


@settings(max_examples=40, deadline=None)
@given(messages, st.sampled_from([None, 0, 1024]), st.booleans())
def test_gemini_total_is_prompt_candidates_thoughts(texts: list[str], budget: int | None, cached: bool) -> None:
    req: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": t}]} for t in texts]}
    if budget is not None:
        req["generationConfig"] = {"thinkingConfig": {"thinkingBudget": budget}}
    if cached:
        req["cachedContent"] = "cachedContents/abc"
    raw = expected_raw_usage("gemini", req)
    thoughts = raw.get("thoughtsTokenCount", 0)
    assert raw["totalTokenCount"] == raw["promptTokenCount"] + raw["candidatesTokenCount"] + thoughts
    assert (thoughts > 0) == (budget not in (None, 0))
    assert ("cachedContentTokenCount" in raw) == cached
    norm = expected_usage("google.stream_generate_content", req)
    assert norm["reasoning_tokens"] == (thoughts or None)


def test_snake_case_gemini_fields_are_understood() -> None:
    camel = {"contents": [{"parts": [{"text": "a b"}]}], "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}}
    snake = {
        "contents": [{"parts": [{"text": "a b"}]}],
        "generation_config": {"thinking_config": {"thinking_budget": 0}},
    }
    assert expected_raw_usage("gemini", camel) == expected_raw_usage("gemini", snake)
    assert "thoughtsTokenCount" not in expected_raw_usage("gemini", snake)


@pytest.mark.parametrize(
    ("request_json", "api"),
    [
        ({"model": "gpt-4o", "messages": []}, "openai.chat_completions"),
        ({"model": "gpt-4o", "input": "hi"}, "openai.responses"),
        ({"model": "text-embedding-3-small", "input": "hi"}, "openai.embeddings"),
        ({"model": "whisper-1", "file_size": 10}, "openai.audio_transcriptions"),
        ({"model": "tts-1", "voice": "alloy", "input": "hi"}, "openai.audio_speech"),
    ],
)
def test_openai_endpoint_autodetect(request_json: dict[str, Any], api: str) -> None:
    assert expected_raw_usage("openai", request_json) == expected_raw_usage(api, request_json)


def test_manifest_semantics() -> None:
    # Responses: input includes cached, output includes reasoning, total = input + output.
    r = expected_usage("openai", {"model": "o3", "input": "hi there", "prompt_cache_key": "k"})
    assert r["total_tokens"] == r["input_tokens"] + r["output_tokens"]  # type: ignore[operator]
    assert r["reasoning_tokens"] == u.REASONING_TOKENS and r["cached_input_tokens"] == r["input_tokens"] // 2  # type: ignore[operator]
    # Whisper: billed by duration, no tokens at all.
    assert set(expected_usage("openai", {"model": "whisper-1", "file_size": 1}).values()) == {None}
    assert expected_raw_usage("openai", {"model": "whisper-1", "file": b"x" * 64_001}) == {
        "type": "duration",
        "seconds": 3,
    }
    # Embeddings: token arrays count their length.
    e = expected_usage("openai.embeddings", {"model": "text-embedding-3-small", "input": [[1, 2, 3], "a b"]})
    assert e["input_tokens"] == e["total_tokens"] == 5 and e["output_tokens"] is None
    # fake-words directive and tool calls
    chat = {"model": "m", "messages": [{"role": "user", "content": "fake-words=500"}]}
    assert expected_usage("openai", chat)["output_tokens"] == 500
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    assert expected_usage("openai", {**chat, "tools": tools})["output_tokens"] == u.TOOL_CALL_TOKENS
    assert expected_usage("openai", {**chat, "tools": tools, "tool_choice": "none"})["output_tokens"] == 500
    with pytest.raises(ValueError, match="unknown provider"):
        expected_usage("cohere", {})
