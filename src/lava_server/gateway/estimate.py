"""Token estimates for holds and for streams that end without usage (docs/design.md "Streaming").

No tokenizer ships offline, so estimates are deliberately generous: one token per three
characters of prompt text plus a per-message overhead; streamed output counts one token
per content event. Estimated usage is always marked ``estimated`` on the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CHARS_PER_TOKEN = 3
PER_MESSAGE_OVERHEAD = 8
TEXT_KEYS = frozenset({"messages", "input", "contents", "system", "prompt", "instructions", "tools", "text"})
MAX_WALK = 100_000


def _text_chars(value: Any, budget: list[int]) -> int:
    if budget[0] <= 0:
        return 0
    budget[0] -= 1
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Mapping):
        return sum(_text_chars(v, budget) for v in value.values()) + PER_MESSAGE_OVERHEAD * CHARS_PER_TOKEN
    if isinstance(value, list):
        return sum(_text_chars(v, budget) for v in value)
    return 0


def estimate_prompt_tokens(body: Mapping[str, Any] | None) -> int:
    if not body:
        return 0
    budget = [MAX_WALK]
    chars = sum(_text_chars(v, budget) for k, v in body.items() if k in TEXT_KEYS)
    return -(-chars // CHARS_PER_TOKEN)


def requested_max_output(body: Mapping[str, Any] | None) -> int | None:
    """The client's output cap, whatever the API calls it."""
    if not body:
        return None
    for key in ("max_tokens", "max_completion_tokens", "max_output_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    config = body.get("generationConfig")
    if isinstance(config, Mapping):
        value = config.get("maxOutputTokens")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None
