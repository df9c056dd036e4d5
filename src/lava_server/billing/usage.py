"""The one usage value: what a call consumed, from the dialect that metered it to the ledger.

:class:`Usage` is built once by a gateway dialect (``gateway.usage.normalised``), priced by
``pricing.base_cost``, counted by ``fees``, written onto the request record by ``records``
(serialised once with :meth:`Usage.to_json`) and read back by ``repricing`` (parsed once with
:meth:`Usage.from_json`). Nothing copies it field by field, so a unit added here travels the
whole way; ``tests/billing/test_usage_value.py`` fails when a field is not serialised, priced
(``pricing.UNIT_PRICING``) or declared unpriced.

Invariants (parts are subsets of their totals; :meth:`Usage.__post_init__` refuses others)::

    cached_input_tokens + cache_write_tokens <= input_tokens
    cache_write_1h_tokens <= cache_write_tokens
    input_audio_tokens + input_image_tokens <= input_tokens - cached_input_tokens - cache_write_tokens
    reasoning_tokens + output_audio_tokens + output_image_tokens <= output_tokens

The audio and image parts are taken as uncached and non-reasoning: no provider we meter
reports how many cached or reasoning tokens were audio or images, and the catalogue needs the
overlap stated (``pricing`` passes it as zero).

Every count is bounded by :data:`MAX_COUNT` (seconds by :data:`MAX_SECONDS`): the gateway
clamps what a provider reports to these caps (docs/limits.md "Usage bounds"), so no charge
computed from one call can leave the ledger's range.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any, Final

__all__ = ["COUNT_FIELDS", "MAX_COUNT", "MAX_SECONDS", "SECONDS_FIELDS", "USAGE_FIELDS", "Usage"]

MAX_COUNT: Final = 1_000_000_000
"""The most of any one unit (tokens, characters, searches) a single call can be billed for."""
MAX_SECONDS: Final = Decimal(MAX_COUNT)
"""The most audio seconds a single call can be billed for."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Normalised usage of one call (docs/billing.md "Usage").

    ``input_tokens`` is every billable input token (uncached + cache reads + cache writes, plus
    Gemini's ``toolUsePromptTokenCount``); ``output_tokens`` is visible + reasoning. The
    ``cached_*``, ``cache_write_*``, ``reasoning``, ``*_audio_*`` and ``*_image_*`` counts are
    parts of those totals, priced at their own rate where the model has one. Characters and
    seconds are separate units (speech and transcription). ``web_search_requests`` and
    ``file_search_requests`` count server-side tool calls billed per call.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    input_audio_tokens: int = 0
    output_audio_tokens: int = 0
    input_image_tokens: int = 0
    output_image_tokens: int = 0
    input_characters: int = 0
    output_characters: int = 0
    input_seconds: Decimal = Decimal(0)
    output_seconds: Decimal = Decimal(0)
    web_search_requests: int = 0
    file_search_requests: int = 0

    def __post_init__(self) -> None:
        for name in COUNT_FIELDS:
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value <= MAX_COUNT:
                raise ValueError(f"{name} must be an int in [0, {MAX_COUNT}], got {value!r}")
        for name in SECONDS_FIELDS:
            object.__setattr__(self, name, _seconds(name, getattr(self, name)))
        if self.cached_input_tokens + self.cache_write_tokens > self.input_tokens:
            raise ValueError("cached_input_tokens + cache_write_tokens must not exceed input_tokens")
        if self.cache_write_1h_tokens > self.cache_write_tokens:
            raise ValueError("cache_write_1h_tokens must not exceed cache_write_tokens")
        uncached = self.input_tokens - self.cached_input_tokens - self.cache_write_tokens
        if self.input_audio_tokens + self.input_image_tokens > uncached:
            raise ValueError("input_audio_tokens + input_image_tokens must not exceed the uncached input tokens")
        if self.reasoning_tokens + self.output_audio_tokens + self.output_image_tokens > self.output_tokens:
            raise ValueError("reasoning, audio and image output tokens must not exceed output_tokens")

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def total_characters(self) -> int:
        return self.input_characters + self.output_characters

    @property
    def total_seconds(self) -> Decimal:
        return self.input_seconds + self.output_seconds

    def to_json(self) -> dict[str, int | str]:
        """Every field, counts as JSON integers and seconds as exact decimal strings."""
        return {
            name: format(getattr(self, name), "f") if name in SECONDS_FIELDS else getattr(self, name)
            for name in USAGE_FIELDS
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Usage:
        """Parse :meth:`to_json` output strictly (a missing field is 0; an unknown one is an error)."""
        unknown = sorted(set(data) - set(USAGE_FIELDS))
        if unknown:
            raise ValueError(f"unknown usage field(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in SECONDS_FIELDS:
                if isinstance(value, bool) or not isinstance(value, str | int):
                    raise ValueError(f"{name} must be a decimal string, got {value!r}")
                try:
                    values[name] = Decimal(value)
                except InvalidOperation as exc:
                    raise ValueError(f"{name} must be a decimal string, got {value!r}") from exc
            else:
                values[name] = value
        return cls(**values)


def _seconds(name: str, value: object) -> Decimal:
    if type(value) is int:
        value = Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite() or not 0 <= value <= MAX_SECONDS:
        raise ValueError(f"{name} must be a Decimal in [0, {MAX_SECONDS}], got {value!r}")
    return value


USAGE_FIELDS: Final[tuple[str, ...]] = tuple(f.name for f in fields(Usage))
SECONDS_FIELDS: Final = frozenset(f.name for f in fields(Usage) if f.type in ("Decimal", Decimal))
COUNT_FIELDS: Final[tuple[str, ...]] = tuple(name for name in USAGE_FIELDS if name not in SECONDS_FIELDS)
