"""select_dialect: routing by path within the provider's API families."""

from __future__ import annotations

import pytest

from lava_server.gateway.dialects import (
    ANTHROPIC_MESSAGES,
    GEMINI_GENERATE,
    OPENAI_CHAT,
    OPENAI_CHAT_NO_INJECT,
    OPENAI_EMBEDDINGS,
    OPENAI_RESPONSES,
    ROUTES,
    select_dialect,
)
from lava_server.gateway.providers import PROVIDERS, ApiFamily, Provider, generic_provider, provider_for_host


def provider(host: str) -> Provider:
    return provider_for_host(host) or generic_provider(host)


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        ("api.openai.com", "/v1/chat/completions", OPENAI_CHAT),
        ("openrouter.ai", "/api/v1/chat/completions", OPENAI_CHAT),
        ("api.groq.com", "/openai/v1/chat/completions", OPENAI_CHAT),
        ("dashscope-intl.aliyuncs.com", "/compatible-mode/v1/chat/completions", OPENAI_CHAT),
        ("router.huggingface.co", "/novita/v3/openai/chat/completions", OPENAI_CHAT),
        ("api.deepseek.com", "/chat/completions", OPENAI_CHAT),
        ("api.perplexity.ai", "/chat/completions", OPENAI_CHAT_NO_INJECT),
        ("pydanticai7521574644.openai.azure.com", "/openai/deployments/gpt-4o/chat/completions", OPENAI_CHAT),
        ("bedrock-mantle.us-east-1.api.aws", "/openai/v1/responses", OPENAI_RESPONSES),
        ("api.x.ai", "/v1/responses", OPENAI_RESPONSES),
        ("api.openai.com", "/v1/embeddings", OPENAI_EMBEDDINGS),
        ("api.anthropic.com", "/v1/messages", ANTHROPIC_MESSAGES),
        ("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-pro:generateContent", GEMINI_GENERATE),
    ],
)
def test_routes(host: str, path: str, expected: object) -> None:
    assert select_dialect(provider(host), "POST", path) is expected


def test_path_normalisation_and_method() -> None:
    openai = provider("api.openai.com")
    assert select_dialect(openai, "post", "/v1/chat/completions/") is OPENAI_CHAT
    assert select_dialect(openai, "POST", "/v1/chat/completions?x=1") is OPENAI_CHAT
    assert select_dialect(openai, "GET", "/v1/chat/completions") is None  # listing stored completions
    assert select_dialect(openai, "POST", "/v1/models") is None
    assert select_dialect(openai, "POST", "/v1/chat/completions/abc") is None


def test_families_gate_routing() -> None:
    anthropic = provider("api.anthropic.com")
    assert select_dialect(anthropic, "POST", "/v1/embeddings") is None
    assert select_dialect(provider("api.openai.com"), "POST", "/v1beta/models/m:generateContent") is None
    generic = generic_provider("llm.example")
    assert select_dialect(generic, "POST", "/v1beta/models/m:generateContent") is GEMINI_GENERATE


def test_every_route_dialect_meets_the_contract() -> None:
    names = set()
    for route in ROUTES:
        dialect = route.dialect
        assert isinstance(dialect.name, str) and dialect.name
        assert isinstance(dialect.billable, bool) and isinstance(dialect.needs_response_body, bool)
        for method in ("request_model", "wants_stream", "prepare", "meter_body", "stream_meter"):
            assert callable(getattr(dialect, method))
        names.add((dialect.name, route.family))
    assert {name for name, _ in names} >= {
        "openai.chat_completions",
        "openai.responses",
        "openai.responses_compact",
        "openai.responses_input_tokens",
        "openai.embeddings",
        "openai.audio_transcriptions",
        "openai.audio_speech",
        "anthropic.messages",
        "anthropic.count_tokens",
        "google.generate_content",
        "google.stream_generate_content",
        "google.embed_content",
        "google.count_tokens",
    }


def test_every_registered_provider_routes_its_primary_family() -> None:
    probes = {
        ApiFamily.OPENAI: "/v1/chat/completions",
        ApiFamily.ANTHROPIC: "/v1/messages",
        ApiFamily.GEMINI: "/v1beta/models/m:generateContent",
        ApiFamily.ELEVENLABS: "/v1/text-to-speech/voice",
    }
    for prov in PROVIDERS:
        for family in prov.families:
            assert select_dialect(prov, "POST", probes[family]) is not None, (prov.slug, family)
