"""What a metered call consumed: the provider's own numbers and our normalised units.

Two views are kept side by side (docs/billing.md "Usage"):

* :class:`ReportedUsage` is the provider's usage copied without arithmetic, in the
  provider's own meaning (Anthropic ``input_tokens`` excludes cache reads, OpenAI's
  includes them, and so on). ``None`` means "not reported". It is stored on the record as
  ``provider_usage``; a number outside ``[0, MAX_COUNT]`` is stored as its decimal text and
  named under ``out_of_range`` (docs/limits.md "Usage bounds").
* :class:`Usage` (``billing.usage.Usage``) is the one normalised value that pricing, fees,
  the record and repricing work on. :func:`normalised` builds it and enforces its
  invariants.

Providers occasionally report parts larger than their whole (an OpenRouter stream with 11
reasoning tokens out of 10 completion tokens). The parts are clamped so that a price
computed as ``whole - parts`` can never go negative; every count is clamped to
``[0, MAX_COUNT]``. The unclamped numbers stay visible in :class:`ReportedUsage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..billing.usage import MAX_COUNT, MAX_SECONDS, Usage

__all__ = ["MAX_COUNT", "Metered", "ReportedUsage", "SubCall", "Usage", "normalised"]

MILLISECOND = Decimal("0.001")  # seconds are billed to the millisecond (the record keeps ms)


@dataclass(slots=True)
class ReportedUsage:
    """The provider's own usage numbers in the provider's own meaning; ``None`` = not reported."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    total_tokens: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The numbers for the record. Out-of-range ones become their decimal text, named under
        ``out_of_range`` (so the record can always be written as JSON)."""
        values: dict[str, Any] = {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "total_tokens": self.total_tokens,
        }
        bad = [name for name, value in values.items() if value is not None and not 0 <= value <= MAX_COUNT]
        for name in bad:
            values[name] = str(values[name])
        if bad:
            values["out_of_range"] = bad
        return values

    def is_empty(self) -> bool:
        """True when the provider reported no token count at all."""
        return all(
            value is None
            for value in (
                self.input_tokens,
                self.output_tokens,
                self.cached_input_tokens,
                self.cache_creation_input_tokens,
                self.reasoning_tokens,
                self.total_tokens,
            )
        )


def _count(value: int) -> int:
    return min(max(value, 0), MAX_COUNT)


def normalised(
    *,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cached_input_tokens: int = 0,
    cache_write_tokens: int = 0,
    cache_write_1h_tokens: int = 0,
    reasoning_tokens: int = 0,
    input_audio_tokens: int = 0,
    output_audio_tokens: int = 0,
    input_image_tokens: int = 0,
    output_image_tokens: int = 0,
    input_characters: int = 0,
    output_characters: int = 0,
    input_seconds: Decimal | None = None,
    output_seconds: Decimal | None = None,
    web_search_requests: int = 0,
    file_search_requests: int = 0,
) -> Usage:
    """Build a :class:`Usage`, clamping counts to ``[0, MAX_COUNT]`` and parts to their whole.

    Seconds are rounded half-up to the millisecond (and clamped to ``[0, MAX_SECONDS]``).
    """
    total_in = _count(input_tokens)
    total_out = _count(output_tokens)
    cached = min(_count(cached_input_tokens), total_in)
    write = min(_count(cache_write_tokens), total_in - cached)
    uncached = total_in - cached - write
    in_audio = min(_count(input_audio_tokens), uncached)
    reasoning = min(_count(reasoning_tokens), total_out)
    out_audio = min(_count(output_audio_tokens), total_out - reasoning)
    return Usage(
        input_tokens=total_in,
        output_tokens=total_out,
        cached_input_tokens=cached,
        cache_write_tokens=write,
        cache_write_1h_tokens=min(_count(cache_write_1h_tokens), write),
        reasoning_tokens=reasoning,
        input_audio_tokens=in_audio,
        output_audio_tokens=out_audio,
        input_image_tokens=min(_count(input_image_tokens), uncached - in_audio),
        output_image_tokens=min(_count(output_image_tokens), total_out - reasoning - out_audio),
        input_characters=_count(input_characters),
        output_characters=_count(output_characters),
        input_seconds=_seconds(input_seconds),
        output_seconds=_seconds(output_seconds),
        web_search_requests=_count(web_search_requests),
        file_search_requests=_count(file_search_requests),
    )


def _seconds(value: Decimal | None) -> Decimal:
    if value is None or not value.is_finite() or value <= 0:
        return Decimal(0)
    return min(value, MAX_SECONDS).quantize(MILLISECOND, rounding=ROUND_HALF_UP)


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

    ``usage`` is ``None`` when no usage was found (the caller estimates, docs/design.md
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
