"""``POST /v1/quote`` (a server extension beyond Lava): the hold a forward call would place."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ._base import LavaModel


class Quote(LavaModel):
    hold: Decimal
    provider: str
    model: str | None = None
    prompt_tokens_estimate: int = 0
    max_output_tokens: int = 0
    available_balance: Decimal | None = None
    sufficient: bool
    worst_case: dict[str, Any] | None = None
    unit_prices: dict[str, Any] | None = None
