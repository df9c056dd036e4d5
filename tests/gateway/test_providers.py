"""The provider registry: exact host allow-listing, key schemes, pricing ids, quirks as data."""

from __future__ import annotations

import dataclasses

import pytest

from lava_server.gateway.providers import (
    ALLOWED_HOSTS,
    PROVIDERS,
    ApiFamily,
    ChatQuirks,
    KeyScheme,
    generic_provider,
    provider_for_host,
)

# The base URLs the Lava SDK ships (src/lava/forward.py) (the de-facto allowlist)
SDK_TABLE = {
    "openai": "api.openai.com/v1",
    "anthropic": "api.anthropic.com/v1",
    "mistral": "api.mistral.ai/v1",
    "deepseek": "api.deepseek.com/v1",
    "xai": "api.x.ai/v1",
    "google": "generativelanguage.googleapis.com/v1beta",
    "kluster": "api.kluster.ai/v1",
    "inference": "api.inference.net/v1",
    "groq": "api.groq.com/openai/v1",
    "novita": "api.novita.ai/v3/openai",
    "vercel": "api.v0.dev/v1",
    "together": "api.together.xyz/v1",
    "hyperbolic": "api.hyperbolic.xyz/v1",
    "elevenlabs": "api.elevenlabs.io/v1",
    "sambanova": "api.sambanova.ai/v1",
    "deepinfra": "api.deepinfra.com/v1/openai",
    "cohere": "api.cohere.ai/compatibility/v1",
    "parasail": "api.parasail.io/v1",
    "nebius": "api.studio.nebius.com/v1",
    "fireworks": "api.fireworks.ai/inference/v1",
    "cerebras": "api.cerebras.ai/v1",
    "targon": "api.targon.com/v1",
    "gmicloud": "api.gmi-serving.com/v1",
    "chutes": "llm.chutes.ai/v1",
    "embercloud": "api.embercloud.ai/v1",
    "baseten": "inference.baseten.co/v1",
    "moonshot": "api.moonshot.ai/v1",
}

CORPUS_HOSTS = [
    "openrouter.ai",
    "api.perplexity.ai",
    "api.z.ai",
    "router.huggingface.co",
    "dashscope-intl.aliyuncs.com",
    "api.inference.crusoecloud.com",
    "ollama.com",
    "us.inference.heroku.com",
    "aiplatform.googleapis.com",
]


@pytest.mark.parametrize(("slug", "base"), sorted(SDK_TABLE.items()))
def test_sdk_table_is_registered(slug: str, base: str) -> None:
    host, _, path = base.partition("/")
    provider = provider_for_host(host)
    assert provider is not None
    assert provider.slug == slug
    assert provider.base_path == "/" + path
    assert provider.base_url == f"https://{base}"


def test_google_openai_compat_base_path() -> None:
    google = provider_for_host("generativelanguage.googleapis.com")
    assert google is not None
    assert "/v1beta/openai" in google.extra_base_paths
    assert google.speaks(ApiFamily.OPENAI) and google.speaks(ApiFamily.GEMINI)


@pytest.mark.parametrize("host", CORPUS_HOSTS)
def test_corpus_hosts_are_registered(host: str) -> None:
    assert host in ALLOWED_HOSTS
    provider = provider_for_host(host)
    assert provider is not None and host in provider.hosts


@pytest.mark.parametrize(
    "host",
    [
        "api.openai.com.evil.example",
        "evil.example",
        "xapi.openai.com",
        "openai.com",
        "api.openai.com:443",
        "europe-west4-aiplatform.googleapis.com",
        "pydanticai7521574644.openai.azure.com",
        "myorg-myaccount.snowflakecomputing.com",
        "bedrock-mantle.us-east-1.api.aws",
        "bedrock-runtime.us-east-1.amazonaws.com",
        "",
    ],
)
def test_exact_host_match_only(host: str) -> None:
    assert provider_for_host(host) is None
    assert host not in ALLOWED_HOSTS


def test_host_case_and_trailing_dot_are_normalised() -> None:
    provider = provider_for_host("API.OpenAI.com.")
    assert provider is not None and provider.slug == "openai"


def test_hosts_and_slugs_are_unique_and_https_hosts_are_bare() -> None:
    hosts = [h for p in PROVIDERS for h in p.hosts]
    assert len(hosts) == len(set(hosts)) == len(ALLOWED_HOSTS)
    assert len({p.slug for p in PROVIDERS}) == len(PROVIDERS)
    for host in hosts:
        assert host == host.lower() and "/" not in host and ":" not in host


@pytest.mark.parametrize(
    ("host", "scheme", "header"),
    [
        ("api.openai.com", KeyScheme.BEARER, ("Authorization", "Bearer k")),
        ("api.anthropic.com", KeyScheme.X_API_KEY, ("x-api-key", "k")),
        ("generativelanguage.googleapis.com", KeyScheme.X_GOOG_API_KEY, ("x-goog-api-key", "k")),
        ("api.elevenlabs.io", KeyScheme.XI_API_KEY, ("xi-api-key", "k")),
        ("api.groq.com", KeyScheme.BEARER, ("Authorization", "Bearer k")),
        ("openrouter.ai", KeyScheme.BEARER, ("Authorization", "Bearer k")),
    ],
)
def test_key_schemes(host: str, scheme: KeyScheme, header: tuple[str, str]) -> None:
    provider = provider_for_host(host)
    assert provider is not None
    assert provider.key_scheme is scheme
    assert provider.auth_header("k") == header


@pytest.mark.parametrize(
    ("host", "pricing_id"),
    [
        ("api.openai.com", "openai"),
        ("api.anthropic.com", "anthropic"),
        ("generativelanguage.googleapis.com", "google"),
        ("aiplatform.googleapis.com", "google"),
        ("api.x.ai", "x-ai"),
        ("api.groq.com", "groq"),
        ("api.mistral.ai", "mistral"),
        ("api.deepseek.com", "deepseek"),
        ("api.together.xyz", "together"),
        ("api.fireworks.ai", "fireworks"),
        ("openrouter.ai", "openrouter"),
        ("api.cerebras.ai", "cerebras"),
        ("api.moonshot.ai", "moonshotai"),
        ("api.kluster.ai", None),
    ],
)
def test_pricing_ids(host: str, pricing_id: str | None) -> None:
    provider = provider_for_host(host)
    assert provider is not None and provider.pricing_id == pricing_id


def test_pricing_ids_exist_in_genai_prices() -> None:
    from genai_prices import data  # the pinned price catalog (server extra)

    known = {p.id for p in data.providers}
    for provider in PROVIDERS:
        assert provider.pricing_id is None or provider.pricing_id in known, provider.slug


def test_quirks_are_data() -> None:
    by_slug = {p.slug: p for p in PROVIDERS}
    assert by_slug["xai"].chat.reasoning_outside_completion
    assert ("x_groq", "usage") in by_slug["groq"].chat.usage_paths
    assert by_slug["deepseek"].chat.cached_paths[0] == ("prompt_cache_hit_tokens",)
    assert ("num_cached_tokens",) in by_slug["mistral"].chat.cached_paths
    assert ("cached_tokens",) in by_slug["huggingface"].chat.cached_paths
    assert ("prompt_tokens_details", "cache_write_tokens") in by_slug["openrouter"].chat.cache_write_paths
    assert not by_slug["perplexity"].chat.inject_stream_usage
    assert by_slug["google"].chat.hidden_reasoning_in_total
    assert by_slug["openai"].chat == ChatQuirks()
    assert by_slug["anthropic"].families == frozenset({ApiFamily.ANTHROPIC})


def test_registry_is_immutable() -> None:
    provider = PROVIDERS[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        provider.slug = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        provider.chat.inject_stream_usage = False  # type: ignore[misc]
    assert isinstance(PROVIDERS, tuple) and isinstance(ALLOWED_HOSTS, frozenset)


def test_generic_provider() -> None:
    provider = generic_provider("MyOrg-MyAccount.snowflakecomputing.com")
    assert provider.slug == "myorg-myaccount-snowflakecomputing-com"
    assert provider.hosts == ("myorg-myaccount.snowflakecomputing.com",)
    assert provider.key_scheme is KeyScheme.BEARER
    assert provider.pricing_id is None
    assert provider.speaks(ApiFamily.OPENAI)
    # Unknown hosts never get xAI- or Gemini-style counting, but find usage anywhere known.
    assert not provider.chat.reasoning_outside_completion
    assert not provider.chat.hidden_reasoning_in_total
    assert ("x_groq", "usage") in provider.chat.usage_paths
    assert generic_provider("...").slug == "unknown"
