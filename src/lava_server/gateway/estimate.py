"""Token estimates for holds and for served calls that report no usage (docs/gateway.md).

No tokenizer ships offline, so estimates are deliberately generous: one token per three
characters of prompt text plus a per-message overhead. Output is estimated from what was
relayed, by :func:`missing_usage_estimate` alone: one token per SSE event, one per four bytes
of any other body. Estimated usage is always marked ``estimated`` on the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..billing.fees import UnitCounts

CHARS_PER_TOKEN = 3
BYTES_PER_OUTPUT_TOKEN = 4  # a non-SSE body (JSON, a Gemini JSON array): bytes relayed per output token
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


def missing_usage_estimate(prompt_tokens: int, *, events: int = 0, body_bytes: int = 0) -> UnitCounts:
    """The usage charged for a served call whose provider reported none, or whose stream we cut.

    The one formula every such path uses: input is the prompt estimate the hold was sized on
    (``prompt_tokens``); output is one token per SSE event relayed (``events``) plus one per
    :data:`BYTES_PER_OUTPUT_TOKEN` bytes of a body that is not SSE (``body_bytes``). Both are
    generous on purpose: a provider that omits usage must not make calls cheaper.
    """
    return UnitCounts(
        input_tokens=max(prompt_tokens, 0),
        output_tokens=max(events, 0) + max(body_bytes, 0) // BYTES_PER_OUTPUT_TOKEN,
    )
