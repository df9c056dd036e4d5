"""The unit audit: every priced unit a dialect meters reaches the usage value and the charge.

One fixture per unit kind, in each provider's exact wire shape: web searches (Anthropic
``server_tool_use``, Responses ``web_search_call`` items, OpenRouter
``server_tool_use_details``), file searches (Responses ``file_search_call``), 1-hour cache
writes, audio tokens (Chat ``*_tokens_details.audio_tokens``, gpt-4o-transcribe), and Gemini's
per-modality counts and tool-use prompt tokens.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from lava_server.billing.pricing import PriceSource, base_cost, unpriced_units
from lava_server.gateway.dialects import (
    ANTHROPIC_MESSAGES,
    GEMINI_GENERATE,
    OPENAI_CHAT,
    OPENAI_RESPONSES,
    Dialect,
)
from lava_server.gateway.providers import Provider, provider_for_host
from lava_server.gateway.usage import Usage
from lava_server.money import to_wire

AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
JSON = "application/json"
D = Decimal


def provider(host: str) -> Provider:
    found = provider_for_host(host)
    assert found is not None
    return found


def meter(dialect: Dialect, host: str, body: object) -> Usage:
    metered = dialect.meter_body(200, JSON, json.dumps(body).encode(), None, provider(host))
    assert metered.usage is not None, metered
    return metered.usage


def cost(usage: Usage, provider_id: str, model: str) -> str:
    prices = PriceSource().require(provider_id, model, AT)
    assert unpriced_units(usage, prices.prices().keys()) == ()
    return to_wire(base_cost(usage, prices).total_units)


def test_anthropic_1h_cache_writes_and_web_searches() -> None:
    body = {
        "id": "msg_1",
        "model": "claude-sonnet-4-5-20250929",
        "usage": {
            "input_tokens": 100,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 3000,
            "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
            "output_tokens": 10,
            "server_tool_use": {"web_search_requests": 2},
        },
    }
    usage = meter(ANTHROPIC_MESSAGES, "api.anthropic.com", body)
    assert (usage.cache_write_tokens, usage.cache_write_1h_tokens, usage.web_search_requests) == (3000, 2000, 2)
    # 100 × $3 + 1000 × $3.75 + 2000 × $6 + 10 × $15 per M, + 2 × $10 per 1000 searches
    assert cost(usage, "anthropic", "claude-sonnet-4-5-20250929") == "0.0362000000"


def test_responses_web_and_file_search_calls_are_counted() -> None:
    body = {
        "id": "resp_1",
        "model": "gpt-4o",
        "status": "completed",
        "output": [
            {"type": "web_search_call", "id": "ws_1", "status": "completed"},
            {"type": "web_search_call", "id": "ws_2", "status": "completed"},
            {"type": "file_search_call", "id": "fs_1", "status": "completed"},
            {"type": "message", "role": "assistant", "content": []},
        ],
        "usage": {"input_tokens": 1000, "output_tokens": 100, "total_tokens": 1100},
    }
    usage = meter(OPENAI_RESPONSES, "api.openai.com", body)
    assert (usage.web_search_requests, usage.file_search_requests) == (2, 1)
    # 1000 × $2.50 + 100 × $10 per M, + 2 × $10 and 1 × $2.50 per 1000 calls
    assert cost(usage, "openai", "gpt-4o") == "0.0260000000"


def test_chat_audio_tokens_are_parts_of_input_and_output() -> None:
    body = {
        "id": "c1",
        "model": "gpt-4o-audio-preview",
        "choices": [],
        "usage": {
            "prompt_tokens": 500,
            "completion_tokens": 300,
            "total_tokens": 800,
            "prompt_tokens_details": {"audio_tokens": 400, "cached_tokens": 0},
            "completion_tokens_details": {"audio_tokens": 250, "reasoning_tokens": 0},
        },
    }
    usage = meter(OPENAI_CHAT, "api.openai.com", body)
    assert (usage.input_audio_tokens, usage.output_audio_tokens) == (400, 250)


def test_openrouter_web_searches() -> None:
    body = {
        "id": "gen-1",
        "model": "openai/gpt-4o",
        "choices": [],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "server_tool_use_details": {"web_search_requests": 4},
        },
    }
    assert meter(OPENAI_CHAT, "openrouter.ai", body).web_search_requests == 4


def test_gemini_modalities_and_tool_use_prompt_tokens() -> None:
    body = {
        "modelVersion": "gemini-2.5-flash-image",
        "responseId": "r1",
        "usageMetadata": {
            "promptTokenCount": 300,
            "candidatesTokenCount": 1300,
            "toolUsePromptTokenCount": 50,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 42}, {"modality": "IMAGE", "tokenCount": 258}],
            "candidatesTokensDetails": [
                {"modality": "IMAGE", "tokenCount": 1290},
                {"modality": "TEXT", "tokenCount": 10},
            ],
        },
    }
    usage = meter(GEMINI_GENERATE, "generativelanguage.googleapis.com", body)
    assert (usage.input_tokens, usage.input_image_tokens, usage.output_image_tokens) == (350, 258, 1290)
    # 350 × $0.30 input + 10 × $2.50 text output + 1290 × $30 image output, per M
    assert D(cost(usage, "google", "gemini-2.5-flash-image")) == (350 * D("0.3") + 10 * D("2.5") + 1290 * 30) / 10**6
