"""Core of the fakes' deterministic token accounting: constants, :class:`Plan`, word counting.

The rules are documented in :mod:`tests.fakes.usage`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

BASE_OVERHEAD = 3
PER_MESSAGE = 3
PER_TOOL = 8
MEDIA_TOKENS = 85
DEFAULT_OUTPUT_WORDS = 12
MAX_OUTPUT_WORDS = 100_000
TOOL_CALL_TOKENS = 12
REASONING_TOKENS = 32
THINKING_WORDS = 16
GEMINI_THOUGHTS_TOKENS = 24
AUDIO_BYTES_PER_SECOND = 32_000
AUDIO_TOKENS_PER_SECOND = 10
SPEECH_TOKENS_PER_WORD = 10

_WORDS_RE = re.compile(rb"fake-words=(\d+)")
REASONING_MODEL_RE = re.compile(r"^(o\d|gpt-5)")
Json = Mapping[str, Any]


def words(text: object) -> int:
    return len(text.split()) if isinstance(text, str) else 0


def json_words(value: object) -> int:
    if isinstance(value, str):
        return words(value)
    return words(orjson.dumps(value).decode())


@dataclass(frozen=True)
class ToolCall:
    name: str
    schema: Any


@dataclass(frozen=True)
class Plan:
    """What the fake will generate for one request, and what it will report."""

    prompt_tokens: int
    text_words: int  # visible words generated (0 when calling a tool)
    tool: ToolCall | None = None
    truncated: bool = False  # hit the max-tokens limit
    reasoning_tokens: int = 0
    cached_tokens: int = 0  # OpenAI cached / Gemini cachedContent / Anthropic cache read
    cache_write_tokens: int = 0  # Anthropic cache creation
    cache_write_1h: bool = False

    @property
    def output_tokens(self) -> int:
        return (TOOL_CALL_TOKENS if self.tool else self.text_words) + self.reasoning_tokens


def output_words(req: Json, limit: object) -> tuple[int, bool]:
    m = _WORDS_RE.search(orjson.dumps(req))
    n = min(int(m.group(1)), MAX_OUTPUT_WORDS) if m else DEFAULT_OUTPUT_WORDS
    if isinstance(limit, int) and not isinstance(limit, bool) and limit < n:
        return max(limit, 0), True
    return n, False


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def gget(obj: object, name: str, default: Any = None) -> Any:
    """``obj[name]`` accepting the snake_case spelling too (proto JSON allows both; the
    google-genai SDK sends e.g. ``thinkingConfig: {"thinking_budget": 0}``)."""
    if not isinstance(obj, Mapping):
        return default
    if name in obj:
        return obj[name]
    return obj.get(_snake(name), default)
