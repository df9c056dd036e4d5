"""Cross-format translation for ``/v1/rewrite/{format}/{providerUrl}``.

One module per format (a :class:`~.base.Codec`), all meeting in the neutral form of
:mod:`.ir`; a client/provider pair is a :class:`~.translate.Translation` of two codecs.
Adding a format is one module plus one line in :data:`CODECS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from .anthropic import AnthropicCodec
from .base import ClientRoute, Codec, Format, ProviderRoute, Untranslatable
from .bedrock import BedrockConverseCodec
from .gemini import GeminiCodec
from .openai_chat import OpenAIChatCodec
from .translate import PreparedRequest, StreamTranslator, Translation

__all__ = [
    "CODECS",
    "FORMATS",
    "ClientRoute",
    "Codec",
    "Format",
    "PreparedRequest",
    "ProviderRoute",
    "StreamTranslator",
    "Translation",
    "Untranslatable",
    "translation",
]

CODECS: Final[Mapping[Format, Codec]] = MappingProxyType(
    {
        "openai": OpenAIChatCodec(),
        "anthropic": AnthropicCodec(),
        "google": GeminiCodec(),
        "bedrock": BedrockConverseCodec(),
    }
)
FORMATS: Final[tuple[Format, ...]] = tuple(CODECS)


def translation(client: Format, provider: Format) -> Translation:
    """The translation from ``client`` requests to ``provider`` requests (and back)."""
    return Translation(CODECS[client], CODECS[provider])
