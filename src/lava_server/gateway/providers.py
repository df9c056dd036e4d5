"""The provider registry: who we forward to, how to authenticate, and how they count.

This module is the *one* place to touch when adding a provider: append a :class:`Provider`
to :data:`PROVIDERS`. Everything that differs between OpenAI-compatible providers is
data on :class:`ChatQuirks`, which the dialects read; dialect code has no per-provider
branches.

Hosts are matched exactly (lower-case, no port, no wildcard): ``api.openai.com.evil.example``
is not ``api.openai.com``. Account-specific hosts (Azure, Snowflake, Bedrock-Mantle, regional
Vertex) are not allow-listed by default; an operator who adds one gets
:func:`generic_provider` for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

__all__ = [
    "ALLOWED_HOSTS",
    "PROVIDERS",
    "ApiFamily",
    "ChatQuirks",
    "KeyScheme",
    "Provider",
    "generic_provider",
    "price_provider_id",
    "provider_for_host",
]

KeyPath = tuple[str, ...]


class KeyScheme(StrEnum):
    """How the upstream API key is sent."""

    BEARER = "bearer"  # Authorization: Bearer <key>
    X_API_KEY = "x-api-key"
    X_GOOG_API_KEY = "x-goog-api-key"
    XI_API_KEY = "xi-api-key"

    def header(self, key: str) -> tuple[str, str]:
        """The ``(name, value)`` header that carries ``key`` in this scheme."""
        if self is KeyScheme.BEARER:
            return ("Authorization", f"Bearer {key}")
        return (self.value, key)


class ApiFamily(StrEnum):
    """API families a host speaks; :func:`~lava_server.gateway.dialects.select_dialect` routes within them."""

    OPENAI = "openai"  # chat/completions, responses, embeddings, audio
    ANTHROPIC = "anthropic"  # /v1/messages
    GEMINI = "gemini"  # models/{m}:generateContent and friends
    ELEVENLABS = "elevenlabs"  # /v1/text-to-speech/{voice}


_DEFAULT_CACHED: Final[tuple[KeyPath, ...]] = (("prompt_tokens_details", "cached_tokens"),)


@dataclass(frozen=True, slots=True)
class ChatQuirks:
    """How one provider fills the OpenAI Chat Completions ``usage`` object (docs/usage-notes.md).

    Each ``*_paths`` field lists places to look, in order; the first integer found wins.
    """

    usage_paths: tuple[KeyPath, ...] = (("usage",),)
    """Where a chunk/body carries its usage object (Groq: also ``x_groq.usage``)."""
    cached_paths: tuple[KeyPath, ...] = _DEFAULT_CACHED
    """Cache-read count inside the usage object (DeepSeek ``prompt_cache_hit_tokens``,
    Mistral ``num_cached_tokens``, HF router top-level ``cached_tokens``)."""
    cache_write_paths: tuple[KeyPath, ...] = (("prompt_tokens_details", "cache_write_tokens"),)
    """Cache-write count (OpenAI gpt-5.6+, OpenRouter)."""
    reasoning_outside_completion: bool = False
    """xAI: ``completion_tokens`` excludes reasoning, so billable output adds it."""
    hidden_reasoning_in_total: bool = False
    """Gemini's OpenAI-compatible endpoint reports thinking tokens only inside
    ``total_tokens``; the gap ``total - prompt - completion`` is billable output."""
    inject_stream_usage: bool = True
    """Whether to add ``stream_options.include_usage`` to streams that lack it. False where
    usage arrives unprompted (Mistral, Perplexity's cumulative per-chunk usage) and the
    extra option is not needed."""


@dataclass(frozen=True, slots=True)
class Provider:
    slug: str
    hosts: tuple[str, ...]
    """Allow-listed https hosts, exact match; the first is canonical."""
    base_path: str
    """The base path the Lava SDK ships for this provider (``lava.forward.PROVIDER_BASE_URLS``)."""
    key_scheme: KeyScheme = KeyScheme.BEARER
    pricing_id: str | None = None
    """The ``genai-prices`` provider id, or None if the catalog has none."""
    families: frozenset[ApiFamily] = frozenset({ApiFamily.OPENAI})
    chat: ChatQuirks = ChatQuirks()
    extra_base_paths: tuple[str, ...] = ()
    """Other base paths the SDK ships for the same host (Google's ``/v1beta/openai``)."""

    @property
    def base_url(self) -> str:
        return f"https://{self.hosts[0]}{self.base_path}"

    def auth_header(self, key: str) -> tuple[str, str]:
        return self.key_scheme.header(key)

    def speaks(self, family: ApiFamily) -> bool:
        return family in self.families

    @property
    def price_provider_id(self) -> str:
        """The provider part of this provider's price keys (``<id>/<model>``): the catalogue id,
        or the slug for a provider the catalogue lacks (operator overrides price it)."""
        return self.pricing_id or self.slug


_OPENAI = frozenset({ApiFamily.OPENAI})
_OPENAI_ANTHROPIC = frozenset({ApiFamily.OPENAI, ApiFamily.ANTHROPIC})
_GOOGLE = frozenset({ApiFamily.GEMINI, ApiFamily.OPENAI})
_ALL_FAMILIES = frozenset(ApiFamily)
_GEMINI_COMPAT = ChatQuirks(hidden_reasoning_in_total=True)


def _p(
    slug: str,
    host: str,
    base_path: str,
    pricing_id: str | None,
    *,
    key_scheme: KeyScheme = KeyScheme.BEARER,
    families: frozenset[ApiFamily] = _OPENAI,
    chat: ChatQuirks = ChatQuirks(),
    extra_base_paths: tuple[str, ...] = (),
) -> Provider:
    return Provider(slug, (host,), base_path, key_scheme, pricing_id, families, chat, extra_base_paths)


PROVIDERS: Final[tuple[Provider, ...]] = (
    # -- the SDK's table (src/lava/forward.py) ---------------------------------------------------
    _p("openai", "api.openai.com", "/v1", "openai"),
    _p("anthropic", "api.anthropic.com", "/v1", "anthropic",
       key_scheme=KeyScheme.X_API_KEY, families=frozenset({ApiFamily.ANTHROPIC})),
    _p("mistral", "api.mistral.ai", "/v1", "mistral",
       chat=ChatQuirks(cached_paths=(("num_cached_tokens",), *_DEFAULT_CACHED), inject_stream_usage=False)),
    _p("deepseek", "api.deepseek.com", "/v1", "deepseek", families=_OPENAI_ANTHROPIC,
       chat=ChatQuirks(cached_paths=(("prompt_cache_hit_tokens",), *_DEFAULT_CACHED))),
    _p("xai", "api.x.ai", "/v1", "x-ai", chat=ChatQuirks(reasoning_outside_completion=True)),
    _p("google", "generativelanguage.googleapis.com", "/v1beta", "google",
       key_scheme=KeyScheme.X_GOOG_API_KEY, families=_GOOGLE, chat=_GEMINI_COMPAT,
       extra_base_paths=("/v1beta/openai",)),
    _p("kluster", "api.kluster.ai", "/v1", None),
    _p("inference", "api.inference.net", "/v1", None),
    _p("groq", "api.groq.com", "/openai/v1", "groq",
       chat=ChatQuirks(usage_paths=(("usage",), ("x_groq", "usage")))),
    _p("novita", "api.novita.ai", "/v3/openai", "novita"),
    _p("vercel", "api.v0.dev", "/v1", None),
    _p("together", "api.together.xyz", "/v1", "together"),
    _p("hyperbolic", "api.hyperbolic.xyz", "/v1", None),
    _p("elevenlabs", "api.elevenlabs.io", "/v1", "elevenlabs",
       key_scheme=KeyScheme.XI_API_KEY, families=frozenset({ApiFamily.ELEVENLABS})),
    _p("sambanova", "api.sambanova.ai", "/v1", None),
    _p("deepinfra", "api.deepinfra.com", "/v1/openai", None),
    _p("cohere", "api.cohere.ai", "/compatibility/v1", "cohere"),
    _p("parasail", "api.parasail.io", "/v1", None),
    _p("nebius", "api.studio.nebius.com", "/v1", None),
    _p("fireworks", "api.fireworks.ai", "/inference/v1", "fireworks"),
    _p("cerebras", "api.cerebras.ai", "/v1", "cerebras"),
    _p("targon", "api.targon.com", "/v1", None),
    _p("gmicloud", "api.gmi-serving.com", "/v1", None),
    _p("chutes", "llm.chutes.ai", "/v1", None),
    _p("embercloud", "api.embercloud.ai", "/v1", None),
    _p("baseten", "inference.baseten.co", "/v1", "baseten"),
    _p("moonshot", "api.moonshot.ai", "/v1", "moonshotai", families=_OPENAI_ANTHROPIC),
    # -- other hosts in the recorded corpus that speak these dialects ----------------
    _p("openrouter", "openrouter.ai", "/api/v1", "openrouter"),
    _p("perplexity", "api.perplexity.ai", "", "perplexity", chat=ChatQuirks(inject_stream_usage=False)),
    _p("zai", "api.z.ai", "/api/paas/v4", "zai", families=_OPENAI_ANTHROPIC),
    _p("huggingface", "router.huggingface.co", "/v1", None,
       chat=ChatQuirks(cached_paths=(("cached_tokens",), *_DEFAULT_CACHED))),
    _p("alibaba", "dashscope-intl.aliyuncs.com", "/compatible-mode/v1", None),
    _p("crusoe", "api.inference.crusoecloud.com", "/v1", None),
    _p("ollama", "ollama.com", "/v1", None),
    _p("heroku", "us.inference.heroku.com", "/v1", None),
    _p("google-vertex", "aiplatform.googleapis.com", "/v1", "google", families=_GOOGLE, chat=_GEMINI_COMPAT),
)  # fmt: skip

_BY_HOST: Final = MappingProxyType({host: p for p in PROVIDERS for host in p.hosts})
ALLOWED_HOSTS: Final[frozenset[str]] = frozenset(_BY_HOST)

_GENERIC_CHAT: Final = ChatQuirks(
    usage_paths=(("usage",), ("x_groq", "usage")),
    cached_paths=(*_DEFAULT_CACHED, ("prompt_cache_hit_tokens",), ("num_cached_tokens",), ("cached_tokens",)),
)
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def _normalise_host(host: str) -> str:
    return host.strip().lower().removesuffix(".")


def provider_for_host(host: str) -> Provider | None:
    """The registered provider for ``host`` (a bare hostname, no port), exact match only."""
    return _BY_HOST.get(_normalise_host(host))


def price_provider_id(name: str) -> str:
    """The price-key provider id for what an operator passes to ``lava prices set --provider``.

    A gateway slug (``xai``) maps to its catalogue id (``x-ai``); a host name (built-in or
    operator-added, e.g. ``llm.acme.example``) maps to its provider's id (an operator-added
    host's slug, ``llm-acme-example``); anything else (a catalogue id, an operator-added
    host's slug) is used as given, lower-cased.
    """
    normal = name.strip().lower()
    for provider in PROVIDERS:
        if provider.slug == normal:
            return provider.price_provider_id
    if "." in normal:
        return (provider_for_host(normal) or generic_provider(normal)).price_provider_id
    return normal


def generic_provider(host: str) -> Provider:
    """A provider for an operator-added host: OpenAI-compatible, bearer key, no catalogue id.

    Its prices are the operator's overrides under its slug (``lava prices set --provider
    <slug or host> ...``), exactly as for a built-in provider.

    It accepts every API family (routing is then by path alone) and looks for usage in
    every known OpenAI-compatible location; it never assumes xAI's or Gemini's counting.
    """
    normal = _normalise_host(host)
    slug = _NON_SLUG.sub("-", normal).strip("-") or "unknown"
    return Provider(
        slug=slug,
        hosts=(normal,),
        base_path="",
        key_scheme=KeyScheme.BEARER,
        pricing_id=None,
        families=_ALL_FAMILIES,
        chat=_GENERIC_CHAT,
    )
