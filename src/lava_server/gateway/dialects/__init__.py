"""Provider API dialects: how to read the model, streaming flag and usage of one API family.

:func:`select_dialect` routes by the upstream URL path, within the API families the
provider speaks (:attr:`Provider.families`). The routing table is data (:data:`ROUTES`);
the first matching route wins, so specific paths come before general ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from ..providers import ApiFamily, Provider
from ._base import Dialect, JsonObj, PrepareResult, StreamMeter, meter_sse_body
from .anthropic import AnthropicDialect
from .embeddings import GeminiEmbeddingsDialect, OpenAIEmbeddingsDialect
from .gemini import GeminiDialect
from .openai_audio import SpeechDialect, TranscriptionDialect
from .openai_chat import OpenAIChatDialect
from .openai_responses import ResponsesDialect
from .token_count import TokenCountDialect

__all__ = [
    "ANTHROPIC_COUNT_TOKENS",
    "ANTHROPIC_MESSAGES",
    "ELEVENLABS_TTS",
    "GEMINI_COUNT_TOKENS",
    "GEMINI_EMBEDDINGS",
    "GEMINI_GENERATE",
    "GEMINI_PREDICT",
    "GEMINI_STREAM_GENERATE",
    "OPENAI_CHAT",
    "OPENAI_CHAT_NO_INJECT",
    "OPENAI_EMBEDDINGS",
    "OPENAI_RESPONSES",
    "OPENAI_RESPONSES_COMPACT",
    "OPENAI_RESPONSES_INPUT_TOKENS",
    "OPENAI_SPEECH",
    "OPENAI_TRANSCRIPTIONS",
    "OPENAI_TRANSLATIONS",
    "ROUTES",
    "Dialect",
    "JsonObj",
    "PrepareResult",
    "Route",
    "StreamMeter",
    "meter_sse_body",
    "select_dialect",
]

OPENAI_CHAT: Final = OpenAIChatDialect()
OPENAI_CHAT_NO_INJECT: Final = OpenAIChatDialect(inject_stream_usage=False)
OPENAI_RESPONSES: Final = ResponsesDialect()
OPENAI_RESPONSES_COMPACT: Final = ResponsesDialect(name="openai.responses_compact", stores_responses=False)
OPENAI_RESPONSES_INPUT_TOKENS: Final = TokenCountDialect(name="openai.responses_input_tokens")
OPENAI_EMBEDDINGS: Final = OpenAIEmbeddingsDialect()
OPENAI_TRANSCRIPTIONS: Final = TranscriptionDialect()
OPENAI_TRANSLATIONS: Final = TranscriptionDialect(name="openai.audio_translations")
OPENAI_SPEECH: Final = SpeechDialect()
ANTHROPIC_MESSAGES: Final = AnthropicDialect()
ANTHROPIC_COUNT_TOKENS: Final = TokenCountDialect(name="anthropic.count_tokens")
GEMINI_GENERATE: Final = GeminiDialect()
GEMINI_STREAM_GENERATE: Final = GeminiDialect(name="google.stream_generate_content")
GEMINI_EMBEDDINGS: Final = GeminiEmbeddingsDialect()
GEMINI_PREDICT: Final = GeminiEmbeddingsDialect(name="google.predict_embeddings")
GEMINI_COUNT_TOKENS: Final = TokenCountDialect(name="google.count_tokens", model_in_path=True)
ELEVENLABS_TTS: Final = SpeechDialect(name="elevenlabs.text_to_speech", text_field="text", model_field="model_id")

_POST = frozenset({"POST"})
_GET = frozenset({"GET"})


@dataclass(frozen=True, slots=True)
class Route:
    family: ApiFamily
    methods: frozenset[str]
    pattern: re.Pattern[str]
    """Searched in the path (without query); anchor with ``$``."""
    dialect: Dialect


def _route(family: ApiFamily, pattern: str, dialect: Dialect, methods: frozenset[str] = _POST) -> Route:
    return Route(family, methods, re.compile(pattern), dialect)


_O, _A, _G, _E = ApiFamily.OPENAI, ApiFamily.ANTHROPIC, ApiFamily.GEMINI, ApiFamily.ELEVENLABS

ROUTES: Final[tuple[Route, ...]] = (
    _route(_O, r"/chat/completions$", OPENAI_CHAT),
    _route(_O, r"/responses/input_tokens$", OPENAI_RESPONSES_INPUT_TOKENS),
    _route(_O, r"/responses/compact$", OPENAI_RESPONSES_COMPACT),
    _route(_O, r"/responses$", OPENAI_RESPONSES),
    _route(_O, r"/responses/[^/]+$", OPENAI_RESPONSES, _GET),  # background polls and resumed streams
    _route(_O, r"/embeddings$", OPENAI_EMBEDDINGS),
    _route(_O, r"/audio/transcriptions$", OPENAI_TRANSCRIPTIONS),
    _route(_O, r"/audio/translations$", OPENAI_TRANSLATIONS),
    _route(_O, r"/audio/speech$", OPENAI_SPEECH),
    _route(_A, r"/messages/count_tokens$", ANTHROPIC_COUNT_TOKENS),
    _route(_A, r"/messages$", ANTHROPIC_MESSAGES),
    _route(_G, r":generateContent$", GEMINI_GENERATE),
    _route(_G, r":streamGenerateContent$", GEMINI_STREAM_GENERATE),
    _route(_G, r":(?:embedContent|batchEmbedContents)$", GEMINI_EMBEDDINGS),
    _route(_G, r":predict$", GEMINI_PREDICT),
    _route(_G, r":countTokens$", GEMINI_COUNT_TOKENS),
    _route(_E, r"/text-to-speech/[^/]+(?:/stream)?(?:/with-timestamps)?$", ELEVENLABS_TTS),
)


def select_dialect(provider: Provider, method: str, path: str) -> Dialect | None:
    """The dialect for ``method path`` on ``provider``, or None if the call is not metered.

    ``path`` is the upstream URL path without the query string. Chat Completions is bound
    to the provider so that :meth:`~Dialect.prepare` knows whether to inject
    ``stream_options.include_usage``.
    """
    verb = method.upper()
    clean = path.split("?", 1)[0].rstrip("/")
    for route in ROUTES:
        if verb in route.methods and provider.speaks(route.family) and route.pattern.search(clean):
            if route.dialect is OPENAI_CHAT and not (
                provider.chat.inject_stream_usage and provider.accepts_stream_usage_option is not False
            ):
                return OPENAI_CHAT_NO_INJECT
            return route.dialect
    return None
