"""What a metered call consumed: the provider's own numbers and our normalised units.

Two views are kept side by side (DECISIONS "Normalised usage"):

* :class:`ReportedUsage` is the provider's usage copied without arithmetic, in the
  provider's own meaning (Anthropic ``input_tokens`` excludes cache reads, OpenAI's
  includes them, and so on). ``None`` means "not reported".
* :class:`Usage` is the normalised record that pricing works on. Its invariants, which
  :func:`normalised` enforces, are::

      cached_input_tokens + cache_write_tokens <= input_tokens
      cache_write_1h_tokens <= cache_write_tokens
      reasoning_tokens <= output_tokens

  Providers occasionally report parts larger than their whole (USAGE-NOTES: an
  OpenRouter stream with 11 reasoning tokens out of 10 completion tokens). The parts are
  clamped so that a price computed as ``whole - parts`` can never go negative; the
  unclamped numbers stay visible in :class:`ReportedUsage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["Metered", "ReportedUsage", "SubCall", "Usage", "normalised"]


@dataclass(slots=True)
class ReportedUsage:
    """The provider's own usage numbers in the provider's own meaning; ``None`` = not reported."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    total_tokens: int | None = None

    def as_dict(self) -> dict[str, int | None]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "total_tokens": self.total_tokens,
        }

    def is_empty(self) -> bool:
        """True when the provider reported no token count at all."""
        return all(value is None for value in self.as_dict().values())


@dataclass(slots=True)
class Usage:
    """Normalised usage (DECISIONS "Normalised usage").

    ``input_tokens`` is every billable input token (uncached + cache reads + cache writes,
    plus Gemini's ``toolUsePromptTokenCount``); ``output_tokens`` is visible + reasoning.
    ``cached_input_tokens``, ``cache_write_tokens`` (with its Anthropic 1-hour part) and
    ``reasoning_tokens`` are parts of those totals, kept for pricing and display.
    ``web_search_requests`` counts server-side searches billed per request.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    input_characters: int = 0
    output_characters: int = 0
    input_seconds: Decimal = Decimal(0)
    output_seconds: Decimal = Decimal(0)
    web_search_requests: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def total_characters(self) -> int:
        return self.input_characters + self.output_characters

    @property
    def total_seconds(self) -> Decimal:
        return self.input_seconds + self.output_seconds


def normalised(
    *,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cached_input_tokens: int = 0,
    cache_write_tokens: int = 0,
    cache_write_1h_tokens: int = 0,
    reasoning_tokens: int = 0,
    input_characters: int = 0,
    output_characters: int = 0,
    input_seconds: Decimal | None = None,
    web_search_requests: int = 0,
) -> Usage:
    """Build a :class:`Usage`, clamping negative numbers and parts larger than their whole."""
    total_in = max(input_tokens, 0)
    total_out = max(output_tokens, 0)
    cached = min(max(cached_input_tokens, 0), total_in)
    write = min(max(cache_write_tokens, 0), total_in - cached)
    return Usage(
        input_tokens=total_in,
        output_tokens=total_out,
        cached_input_tokens=cached,
        cache_write_tokens=write,
        cache_write_1h_tokens=min(max(cache_write_1h_tokens, 0), write),
        reasoning_tokens=min(max(reasoning_tokens, 0), total_out),
        input_characters=max(input_characters, 0),
        output_characters=max(output_characters, 0),
        input_seconds=max(input_seconds, Decimal(0)) if input_seconds is not None else Decimal(0),
        web_search_requests=max(web_search_requests, 0),
    )


@dataclass(slots=True)
class SubCall:
    """A separately priced model call reported inside one response.

    Anthropic's advisor tool runs another model (``usage.iterations[]`` entries of type
    ``advisor_message``) whose tokens are *not* part of the top-level usage.
    """

    model: str | None
    usage: Usage
    reported: ReportedUsage


@dataclass(slots=True)
class Metered:
    """What a dialect learned about one call.

    ``usage`` is ``None`` when no usage was found (the caller estimates, DECISIONS
    "Streaming"). ``error`` is set for non-2xx responses and for failures reported inside a
    2xx body or stream; ``usage`` may still be set alongside an in-band error when the
    provider reported consumption anyway (billing decides what to charge).
    """

    usage: Usage | None
    reported: ReportedUsage | None
    model: str | None
    response_id: str | None
    error: str | None = None
    sub_calls: tuple[SubCall, ...] = ()
    pending: bool = False
    """The provider accepted the work but has not done it yet (a Responses background call
    answered ``queued``/``in_progress``): nothing was consumed yet, so nothing is estimated."""
