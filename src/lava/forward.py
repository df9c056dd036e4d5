"""Gateway URLs (``/forward``, ``/rewrite``) and forward tokens (docs/gateway.md).

Forward tokens live in :mod:`lava._tokens` and are re-exported here: ``base64`` of the
token JSON, byte-identical to Node SDK 11.2.0's ``generateForwardToken``. They carry the
merchant's secret key, so build them on the server and never send one to a browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, get_args
from urllib.parse import quote, urlsplit

from ._tokens import decode_forward_token, generate_forward_token

__all__ = [
    "FORMATS",
    "OPENAI_COMPATIBLE",
    "PROVIDER_BASE_URLS",
    "GatewayFormat",
    "base_url_for",
    "decode_forward_token",
    "encode_uri_component",
    "forward_url",
    "gateway_url",
    "generate_forward_token",
    "provider_url",
    "provider_urls",
    "rewrite_url",
]

GatewayFormat = Literal["openai", "anthropic", "google", "bedrock"]
"""The request/response format a client speaks to ``/v1/rewrite`` (docs/gateway.md)."""
FORMATS: Final[frozenset[str]] = frozenset(get_args(GatewayFormat))

PROVIDER_BASE_URLS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "openai": "https://api.openai.com/v1",
        "anthropic": "https://api.anthropic.com/v1",
        "mistral": "https://api.mistral.ai/v1",
        "deepseek": "https://api.deepseek.com/v1",
        "xai": "https://api.x.ai/v1",
        "google": "https://generativelanguage.googleapis.com/v1beta",
        "google_openai_compatible": "https://generativelanguage.googleapis.com/v1beta/openai",
        "kluster": "https://api.kluster.ai/v1",
        "inference": "https://api.inference.net/v1",
        "groq": "https://api.groq.com/openai/v1",
        "novita": "https://api.novita.ai/v3/openai",
        "vercel": "https://api.v0.dev/v1",
        "together": "https://api.together.xyz/v1",
        "hyperbolic": "https://api.hyperbolic.xyz/v1",
        "elevenlabs": "https://api.elevenlabs.io/v1",
        "sambanova": "https://api.sambanova.ai/v1",
        "deepinfra": "https://api.deepinfra.com/v1/openai",
        "cohere": "https://api.cohere.ai/compatibility/v1",
        "parasail": "https://api.parasail.io/v1",
        "nebius": "https://api.studio.nebius.com/v1",
        "fireworks": "https://api.fireworks.ai/inference/v1",
        "cerebras": "https://api.cerebras.ai/v1",
        "targon": "https://api.targon.com/v1",
        "gmicloud": "https://api.gmi-serving.com/v1",
        "chutes": "https://llm.chutes.ai/v1",
        "embercloud": "https://api.embercloud.ai/v1",
        "baseten": "https://inference.baseten.co/v1",
        "moonshot": "https://api.moonshot.ai/v1",
    }
)
"""Provider slug → upstream API base (the Node SDK's list)."""

OPENAI_COMPATIBLE: Final = frozenset(PROVIDER_BASE_URLS) - {"anthropic", "google", "elevenlabs"}
"""Providers whose API the official ``openai`` SDK can call."""

_ANTHROPIC_ROOT: Final = "https://api.anthropic.com"
_GOOGLE_ROOT: Final = "https://generativelanguage.googleapis.com"
_URI_COMPONENT_SAFE: Final = "!~*'()"


# --- URLs --------------------------------------------------------------------------


def provider_url(base_url: str, provider: str) -> str:
    """``{base_url}forward?u=https://api.openai.com/v1`` (raw, not URL-encoded, like Node)."""
    try:
        upstream = PROVIDER_BASE_URLS[provider]
    except KeyError:
        raise ValueError(_unknown(provider)) from None
    return f"{base_url}forward?u={upstream}"


def provider_urls(base_url: str) -> Mapping[str, str]:
    """Every provider slug → its forward URL."""
    return MappingProxyType({slug: provider_url(base_url, slug) for slug in PROVIDER_BASE_URLS})


def forward_url(base_url: str, target_url: str) -> str:
    """``{base_url}forward?u=<target_url URL-encoded>`` for any upstream URL."""
    return f"{base_url}forward?u={quote(target_url, safe='')}"


def base_url_for(base_url: str, provider: str) -> str:
    """A ``base_url`` for an official provider SDK, shaped so the SDK's own path
    joining produces a clean forward URL (no server-side path repair):

    * OpenAI-compatible providers, for ``openai.OpenAI(base_url=...)``:
      ``{base}forward?u=https://api.openai.com/v1/``. The trailing slash makes
      openai-python send ``{base}forward/?u=https://api.openai.com/v1/chat/completions``.
    * ``anthropic``, for ``anthropic.Anthropic(base_url=...)``:
      ``{base}forward?u=https://api.anthropic.com`` (the SDK appends ``/v1/messages``).
    * ``google``, for ``google.genai.Client(http_options={"base_url": ...})``:
      ``{base}forward/https://generativelanguage.googleapis.com``. google-genai
      joins ``/v1beta/models/...:generateContent`` onto the URL *path* (never the
      query), and adds ``?alt=sse`` when streaming, so the upstream URL travels in
      the path: ``{base}forward/https://generativelanguage.googleapis.com/v1beta/models/...``.
    """
    if provider == "anthropic":
        return f"{base_url}forward?u={_ANTHROPIC_ROOT}"
    if provider == "google":
        return f"{base_url}forward/{_GOOGLE_ROOT}"
    if provider in OPENAI_COMPATIBLE:
        return f"{base_url}forward?u={PROVIDER_BASE_URLS[provider]}/"
    if provider in PROVIDER_BASE_URLS:
        raise ValueError(f"No SDK base URL for {provider!r}; use forward_url() with the full endpoint URL")
    raise ValueError(_unknown(provider))


def encode_uri_component(value: str) -> str:
    """JavaScript's ``encodeURIComponent`` (leaves ``A-Z a-z 0-9 - _ . ! ~ * ' ( )``)."""
    return quote(value, safe=_URI_COMPONENT_SAFE)


def _format(value: str) -> GatewayFormat:
    if value not in FORMATS:
        raise ValueError(f"Unknown format {value!r}; expected one of {', '.join(sorted(FORMATS))}")
    return value  # type: ignore[return-value]


def gateway_url(base_url: str, url: str, format: GatewayFormat | None = None) -> str:
    """Where Node 11.2.0's ``gateway(url, {format})`` sends a call.

    Without ``format``: ``{base}forward?u=<encodeURIComponent(url)>``. With it:
    ``{base}rewrite/{format}/{url}``, the provider URL raw (scheme included).
    """
    if format is None:
        return f"{base_url}forward?u={encode_uri_component(url)}"
    return f"{base_url}rewrite/{_format(format)}/{url}"


def rewrite_url(base_url: str, format: GatewayFormat, provider_url: str) -> str:
    """A ``base_url`` for an official SDK that speaks ``format`` and should reach ``provider_url``.

    ``rewrite_url(base, "openai", "https://api.anthropic.com/v1/messages")`` is
    ``{base}rewrite/openai/api.anthropic.com/v1/messages``: the OpenAI SDK appends
    ``/chat/completions``, which the server strips (docs/gateway.md). The provider URL is
    written without its scheme (https is implied), so no proxy can collapse its ``//``.
    ``ValueError`` for a format not in :data:`FORMATS`, a non-https URL, or one with a query.
    """
    parts = urlsplit(provider_url if "://" in provider_url else f"https://{provider_url}")
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"provider_url must be an https URL, got {provider_url!r}")
    if parts.query or parts.fragment:
        raise ValueError("provider_url must not carry a query or fragment: SDKs append their path to a base URL")
    return f"{base_url}rewrite/{_format(format)}/{parts.netloc}{parts.path.rstrip('/')}"


def _unknown(provider: str) -> str:
    return f"Unknown provider {provider!r}; known: {', '.join(sorted(PROVIDER_BASE_URLS))}"
