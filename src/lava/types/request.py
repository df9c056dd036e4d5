"""``RestRequest``: one metered call, in both generations' vocabularies.

The 2025 API reports ``connection_id``, ``product_id``, ``fee``, ``service_charge``
and ``total_*_cost``; the current API (Node SDK 9.0+) reports ``customer_id``, ``meter_id``,
``cost`` and ``charge``. The server sends one or both, by profile. This model always has both:
a side the server left out is derived from the other with the server's own cross-generation mapping
(``charge`` = ``fee``, ``cost`` = ``model_usage.total_cost``; the other way round ``fee`` =
``charge``, ``service_charge`` = 0 paid by the merchant, wallet cost = charge, merchant cost =
cost, request cost = their sum).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field, model_validator

from ._base import LavaModel, Timestamp
from .meter import RateType

__all__ = ["Charge", "Fee", "FeeBreakdownItem", "FeeTier", "ModelUsage", "Request", "ServiceCharge"]

_ZERO = Decimal(0)


class ModelUsage(LavaModel):
    """Units and base model cost. Money is ``Decimal``; seconds may be fractional."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_characters: int = 0
    output_characters: int = 0
    total_characters: int = 0
    input_seconds: Decimal = _ZERO
    output_seconds: Decimal = _ZERO
    total_seconds: Decimal = _ZERO
    input_cost: Decimal = _ZERO
    output_cost: Decimal = _ZERO
    total_cost: Decimal = _ZERO
    payer: str | None = None
    """``wallet`` or ``merchant`` (API 2025-04-21.v1 and later)."""
    cached_input_tokens: int | None = None
    """Part of ``input_tokens`` read from a prompt cache (when the server reports it)."""
    cache_write_tokens: int | None = None
    """Part of ``input_tokens`` written to a prompt cache."""
    reasoning_tokens: int | None = None
    """Part of ``output_tokens`` spent on reasoning."""
    estimated: bool | None = None
    """True when the provider reported no usage and the units are an estimate."""


class FeeTier(LavaModel):
    start: int
    rate: Decimal
    type: str | None = None
    """``tokens_1m``, ``characters_1m``, ``minutes`` or ``requests``."""


class FeeBreakdownItem(LavaModel):
    tier: FeeTier
    tokens: int = 0
    characters: int = 0
    seconds: Decimal = _ZERO
    cost: Decimal


class Fee(LavaModel):
    amount: Decimal
    rate_type: str | None = None
    """``fixed`` or ``percentage``."""
    token_basis: str | None = None
    """``input+output`` or ``output``."""
    breakdown: list[FeeBreakdownItem] = Field(default_factory=list)


class Charge(LavaModel):
    """What the meter charged the customer: ``amount`` = the sum of the breakdown's costs."""

    amount: Decimal
    rate_type: RateType
    breakdown: list[FeeBreakdownItem] = Field(default_factory=list)


class ServiceCharge(LavaModel):
    amount: Decimal
    payer: str | None = None


class Request(LavaModel):
    request_id: str
    status: str | None = None
    """``pending``, ``completed`` or ``error`` (API 2025-04-28.v1)."""
    customer_id: str | None = None
    """The customer charged or tracked (= ``connection_id``)."""
    meter_id: str | None = None
    """The meter that priced the call (= ``product_id``)."""
    connection_id: str | None = None
    product_id: str | None = None
    provider: str | None = None
    provider_key_type: str | None = None
    """``managed`` or ``unmanaged`` (BYOK)."""
    model: str | None = None
    endpoint: str | None = None
    """``"<METHOD> <full upstream URL>"``."""
    response_id: str | None = None
    model_usage: ModelUsage
    cost: Decimal
    """The provider cost (= ``model_usage.total_cost``); informational for BYOK and stored keys."""
    charge: Charge
    fee: Fee
    service_charge: ServiceCharge
    total_request_cost: Decimal
    total_wallet_cost: Decimal | None = None
    total_merchant_cost: Decimal | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    timestamp: Timestamp | None = None
    """Completion time reported by the provider."""
    created_at: Timestamp

    @model_validator(mode="before")
    @classmethod
    def _both_vocabularies(cls, value: Any) -> Any:
        return _normalize(value) if isinstance(value, dict) else value


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _normalize(raw: dict[str, Any]) -> dict[str, Any]:
    out = dict(raw)
    for current, legacy in (("customer_id", "connection_id"), ("meter_id", "product_id")):
        if out.get(current) is None and out.get(legacy) is not None:
            out[current] = out[legacy]
        elif out.get(legacy) is None and out.get(current) is not None:
            out[legacy] = out[current]
    usage = out.get("model_usage")
    if "cost" not in out and isinstance(usage, dict):
        out["cost"] = usage.get("total_cost", _ZERO)  # ModelUsage's own default
    fee, charge = out.get("fee"), out.get("charge")
    if charge is None and isinstance(fee, dict) and "amount" in fee:
        out["charge"] = {
            "amount": fee["amount"],
            "rate_type": fee.get("rate_type") or "fixed",
            "breakdown": fee.get("breakdown") or [],
        }
    elif fee is None and isinstance(charge, dict) and "amount" in charge and "cost" in out:
        out["fee"] = {**charge, "token_basis": "input+output"}
        out.setdefault("service_charge", {"amount": "0.0000000000", "payer": "merchant"})
        out.setdefault("total_wallet_cost", charge["amount"])
        out.setdefault("total_merchant_cost", out["cost"])
        out.setdefault("total_request_cost", _dec(charge["amount"]) + _dec(out["cost"]))
        if isinstance(usage, dict) and "payer" not in usage:
            out["model_usage"] = {**usage, "payer": "merchant"}
    return out
