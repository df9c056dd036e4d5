"""``GET /usage`` response: daily items plus totals (both API generations).

The current API reports ``total_cost`` (Σ provider cost) and ``total_charge`` (Σ charge); the
2025 API reports six other totals. Like :class:`~lava.types.Request`, every bucket has both:
a side the server left out is derived from the other (``total_cost`` = ``total_usage_cost``,
``total_charge`` = ``total_fee_amount``, and the other way round with no service charge).
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Any

from pydantic import model_validator

from ._base import LavaModel, Timestamp

__all__ = ["Usage", "UsageItem", "UsageTotals"]

_ZERO = Decimal(0)


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


class _UsageSums(LavaModel):
    total_requests: int = 0
    total_usage_tokens: int = 0
    total_cost: Decimal = _ZERO
    total_charge: Decimal = _ZERO
    total_usage_cost: Decimal = _ZERO
    total_fee_amount: Decimal = _ZERO
    total_service_charge_amount: Decimal = _ZERO
    total_request_cost: Decimal = _ZERO
    total_wallet_cost: Decimal = _ZERO
    total_merchant_cost: Decimal = _ZERO

    @model_validator(mode="before")
    @classmethod
    def _both_vocabularies(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = dict(value)
        if "total_cost" not in out and "total_usage_cost" in out:
            out["total_cost"] = out["total_usage_cost"]
        if "total_charge" not in out and "total_fee_amount" in out:
            out["total_charge"] = out["total_fee_amount"]
        if "total_usage_cost" not in out and "total_cost" in out and "total_charge" in out:
            cost, charge = out["total_cost"], out["total_charge"]
            out.update(total_usage_cost=cost, total_fee_amount=charge, total_service_charge_amount="0")
            out.setdefault("total_wallet_cost", charge)
            out.setdefault("total_merchant_cost", cost)
            out.setdefault("total_request_cost", _dec(cost) + _dec(charge))
        return out


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
