"""``RestMeter`` (Node SDK 11.2.0's type): a meter *is* a product, named by its ``meter_slug``."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field

from ._base import LavaModel, Timestamp

__all__ = ["Meter", "MeterTier", "RateType", "TierType"]

RateType = Literal["fixed", "percentage"]
"""``fixed``: ``rate`` is USD per unit of the tier type; ``percentage``: a markup on the provider cost (``"20"`` = 20 %)."""
TierType = Literal["tokens_1m", "characters_1m", "minutes", "requests"]
"""The unit a tier's rate is per: a million tokens, a million characters, a minute, or one request."""


class MeterTier(LavaModel):
    start: int
    """Cumulative units (of the customer on this meter) where the tier begins."""
    rate: Decimal
    type: TierType


class Meter(LavaModel):
    meter_id: str
    meter_slug: str
    name: str
    rate_type: RateType
    tiers: list[MeterTier] = Field(default_factory=list)
    created_at: Timestamp
