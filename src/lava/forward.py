"""Forward tokens and provider URLs for the ``/forward`` proxy (docs/gateway.md).

A forward token is ``base64(JSON.stringify({secret_key, connection_secret,
product_secret, provider_key?}))``, byte-identical to the Node SDK's
``generateForwardToken``. It is not signed: it carries the merchant's secret key,
so build it on the server and never send it to a browser.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import quote

__all__ = [
    "OPENAI_COMPATIBLE",
    "PROVIDER_BASE_URLS",
    "base_url_for",
    "decode_forward_token",
    "forward_url",
    "generate_forward_token",
    "provider_url",
    "provider_urls",
]

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
_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")


# --- tokens ------------------------------------------------------------------------


def _json_stringify(value: Any) -> str:
    """``JSON.stringify``: compact, non-ASCII kept literal, lone surrogates escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    # Python str code points in the surrogate range are always unpaired; ES2019
    # JSON.stringify writes those as lowercase \\udxxx escapes.
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def generate_forward_token(
    *,
    secret_key: str,
    connection_secret: str | None,
    product_secret: str | None,
    provider_key: str | None = None,
) -> str:
    """Build the ``Authorization: Bearer`` token for ``/forward``.

    Legal shapes:

    * ``connection_secret`` and ``product_secret`` strings (optionally a
      ``provider_key`` for BYOK): billed to the connection's wallet;
    * ``connection_secret`` with ``product_secret=None``: default pricing;
    * both ``None`` plus a ``provider_key``: metering only, nothing is charged.
    """
    if not isinstance(secret_key, str) or not secret_key:
        raise ValueError("secret_key must be a non-empty string")
    for name, value in (
        ("connection_secret", connection_secret),
        ("product_secret", product_secret),
        ("provider_key", provider_key),
    ):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be a string or None, not {type(value).__name__}")
    if connection_secret is None and product_secret is not None:
        raise ValueError("product_secret without connection_secret: pass both, or neither with a provider_key")
    if connection_secret is None and provider_key is None:
        raise ValueError("Pass connection_secret (and product_secret), or provider_key for metering only")
    payload: dict[str, str | None] = {
        "secret_key": secret_key,
        "connection_secret": connection_secret,
        "product_secret": product_secret,
    }
    if provider_key is not None:
        payload["provider_key"] = provider_key
    return base64.b64encode(_json_stringify(payload).encode("utf-8")).decode("ascii")


def decode_forward_token(token: str) -> dict[str, Any]:
    """Decode a forward token back to its JSON object (standard or URL-safe base64)."""
    text = token.strip()
    if text.lower().startswith("bearer "):
        text = text[7:].strip()
    try:
        altchars = b"-_" if "-" in text or "_" in text else None
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=altchars, validate=True)
        value = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"Not a forward token: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError("Not a forward token: the JSON is not an object")
    return value


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


def _unknown(provider: str) -> str:
    return f"Unknown provider {provider!r}; known: {', '.join(sorted(PROVIDER_BASE_URLS))}"
