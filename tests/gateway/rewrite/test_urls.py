"""The rewrite URL rules: provider URL forms, provider format by host, client suffixes."""

from __future__ import annotations

import pytest

from lava_server.gateway.rewrite import ClientRoute, Format
from lava_server.gateway.rewrite.urls import parse_rewrite_path, provider_format


@pytest.mark.parametrize(
    ("client", "raw", "host", "path", "is_endpoint"),
    [
        # an SDK appended its suffix to a provider URL that already names the endpoint
        ("openai", "https://api.anthropic.com/v1/messages/chat/completions", "api.anthropic.com", "/v1/messages", True),
        ("openai", "api.anthropic.com/v1/messages/chat/completions", "api.anthropic.com", "/v1/messages", True),
        # Node's gateway(url, {format}): the provider URL raw, nothing stripped
        ("openai", "https://api.openai.com/v1/chat/completions", "api.openai.com", "/v1/chat/completions", True),
        ("anthropic", "https://api.openai.com/v1/chat/completions", "api.openai.com", "/v1/chat/completions", True),
        # a base URL: the SDK's suffix is stripped and the provider's codec completes the rest
        ("anthropic", "https://api.openai.com/v1/v1/messages", "api.openai.com", "/v1", False),
        ("anthropic", "https:/api.openai.com/v1/messages", "api.openai.com", "", False),  # merged '//' repaired
        ("openai", "https%3A%2F%2Fapi.anthropic.com%2Fv1/chat/completions", "api.anthropic.com", "", False),
        (
            "openai",
            "generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent/chat/completions",
            "generativelanguage.googleapis.com",
            "/v1beta/models/gemini-2.5-flash:generateContent",
            True,
        ),
    ],
)
def test_provider_url_and_suffix(client: Format, raw: str, host: str, path: str, is_endpoint: bool) -> None:
    where = parse_rewrite_path(client, raw, "")
    assert (where.host, where.path, where.is_endpoint) == (host, path, is_endpoint)


def test_google_and_bedrock_clients_name_the_model_in_their_suffix() -> None:
    where = parse_rewrite_path(
        "google", "https://api.openai.com/v1/v1beta/models/gpt-4o:streamGenerateContent", "alt=sse&key=x"
    )
    assert (where.path, where.provider) == ("/v1", "openai")
    assert where.client == ClientRoute(model="gpt-4o", stream=True, sse=True)
    same = parse_rewrite_path(
        "google", "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent", ""
    )
    assert same.is_endpoint and same.provider == "google" and same.client.model == "gemini-2.5-pro"
    converse = parse_rewrite_path("bedrock", "api.anthropic.com/model/claude-x/converse", "")
    assert (converse.path, converse.client.model, converse.client.stream) == ("", "claude-x", False)


@pytest.mark.parametrize(
    ("host", "path", "fmt"),
    [
        ("api.anthropic.com", "/v1/messages", "anthropic"),
        ("generativelanguage.googleapis.com", "/v1beta/models/x:generateContent", "google"),
        ("generativelanguage.googleapis.com", "/v1beta/openai/chat/completions", "openai"),
        ("bedrock-runtime.us-east-1.amazonaws.com", "/model/x/converse", "bedrock"),
        ("api.groq.com", "/openai/v1/chat/completions", "openai"),
    ],
)
def test_provider_format_by_host(host: str, path: str, fmt: Format) -> None:
    assert provider_format(host, path) == fmt


def test_plain_http_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_rewrite_path("openai", "http://api.openai.com/v1/chat/completions", "")
