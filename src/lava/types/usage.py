"""``GET /usage`` response: daily items plus totals (the ``Usage`` schema in the server's ``/openapi.json``)."""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal

from ._base import LavaModel, Timestamp

__all__ = ["Usage", "UsageItem", "UsageTotals"]

_ZERO = Decimal(0)


class _UsageSums(LavaModel):
    total_requests: int = 0
    total_usage_tokens: int = 0
    total_usage_cost: Decimal = _ZERO
    total_fee_amount: Decimal = _ZERO
    total_service_charge_amount: Decimal = _ZERO
    total_request_cost: Decimal = _ZERO
    total_wallet_cost: Decimal = _ZERO
    total_merchant_cost: Decimal = _ZERO


class UsageTotals(_UsageSums):
    """Sums over every item."""


class UsageItem(_UsageSums):
    """One day bucket; ``start``/``end`` bound it in the timezone of the query's ``start``."""

    date: _dt.date
    start: Timestamp | None = None
    end: Timestamp | None = None


class Usage(LavaModel):
    items: list[UsageItem]
    totals: UsageTotals
